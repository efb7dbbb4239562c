output "tenant_id" {
  description = "entra.tenantId"
  value       = data.azuread_client_config.current.tenant_id
}

output "client_id" {
  description = "entra.clientId"
  value       = azuread_application.warden.client_id
}

output "service_principal_object_id" {
  description = "Warden's service principal (entra.serviceIdentity.servicePrincipalIds, if Warden should also recognise it by object id)"
  value       = azuread_service_principal.warden.object_id
}

output "application_permissions" {
  description = "The application permissions requested (from permissions.json)"
  value       = concat(tolist(local.graph_permissions), tolist(local.management_permissions))
}
