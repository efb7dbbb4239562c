# Warden's app registration in Microsoft Entra ID: exactly the application
# permissions Warden's code uses. The list is not written here: it is read from
# permissions.json, which is generated from connectors/entra/graph-operations.ts
# (`npm run gen:entra-permissions`) and kept equal to the code by a test.
#
#   terraform init && terraform apply                  # secret-less: add a certificate below
#   terraform apply -var certificate_pem_file=warden.crt
#
# Guide: docs/entra.md.

terraform {
  required_version = ">= 1.5"
  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.0"
    }
  }
}

locals {
  permissions                 = jsondecode(file("${path.module}/permissions.json"))
  # Permissions in permissions.json's opt_in are asked for only when their variable is true.
  opt_in_enabled = {
    enable_revoke_new_credential = var.enable_revoke_new_credential
  }
  graph_permissions = toset([
    for p in local.permissions.microsoft_graph : p
    if !contains(keys(local.permissions.opt_in), p) || lookup(local.opt_in_enabled, lookup(local.permissions.opt_in, p, ""), false)
  ])
  management_permissions      = var.enable_management_activity ? toset(local.permissions.office_365_management_apis) : toset([])
  microsoft_graph_app_id      = "00000003-0000-0000-c000-000000000000"
  office365_management_app_id = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
}

data "azuread_client_config" "current" {}

data "azuread_service_principal" "microsoft_graph" {
  client_id = local.microsoft_graph_app_id
}

data "azuread_service_principal" "office365_management" {
  count     = var.enable_management_activity ? 1 : 0
  client_id = local.office365_management_app_id
}

resource "azuread_application" "warden" {
  display_name     = var.display_name
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]

  required_resource_access {
    resource_app_id = local.microsoft_graph_app_id
    dynamic "resource_access" {
      for_each = local.graph_permissions
      content {
        id   = data.azuread_service_principal.microsoft_graph.app_role_ids[resource_access.value]
        type = "Role"
      }
    }
  }

  dynamic "required_resource_access" {
    for_each = var.enable_management_activity ? [1] : []
    content {
      resource_app_id = local.office365_management_app_id
      dynamic "resource_access" {
        for_each = local.management_permissions
        content {
          id   = data.azuread_service_principal.office365_management[0].app_role_ids[resource_access.value]
          type = "Role"
        }
      }
    }
  }
}

resource "azuread_service_principal" "warden" {
  client_id = azuread_application.warden.client_id
  owners    = [data.azuread_client_config.current.object_id]
}

# Admin consent: one app role assignment per permission (what "Grant admin
# consent" in the portal does). Needs a Privileged Role Administrator or
# Global Administrator running Terraform.
resource "azuread_app_role_assignment" "microsoft_graph" {
  for_each            = var.grant_admin_consent ? local.graph_permissions : toset([])
  app_role_id         = data.azuread_service_principal.microsoft_graph.app_role_ids[each.value]
  principal_object_id = azuread_service_principal.warden.object_id
  resource_object_id  = data.azuread_service_principal.microsoft_graph.object_id
}

resource "azuread_app_role_assignment" "office365_management" {
  for_each            = var.grant_admin_consent ? local.management_permissions : toset([])
  app_role_id         = data.azuread_service_principal.office365_management[0].app_role_ids[each.value]
  principal_object_id = azuread_service_principal.warden.object_id
  resource_object_id  = data.azuread_service_principal.office365_management[0].object_id
}

# A certificate credential (preferred over a client secret): the public part
# only. Warden reads the private key and certificate from its own secret store.
resource "azuread_application_certificate" "warden" {
  count          = var.certificate_pem_file == null ? 0 : 1
  application_id = azuread_application.warden.id
  type           = "AsymmetricX509Cert"
  value          = file(var.certificate_pem_file)
  end_date       = var.certificate_end_date
}

# Directory roles for the service principal, when Warden must act on
# administrators (disable or hold a privileged account): see docs/entra.md.

resource "azuread_directory_role" "warden" {
  for_each     = toset(var.directory_roles)
  display_name = each.value
}

resource "azuread_directory_role_assignment" "warden" {
  for_each            = toset(var.directory_roles)
  role_id             = azuread_directory_role.warden[each.value].template_id
  principal_object_id = azuread_service_principal.warden.object_id
}
