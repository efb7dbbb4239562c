variable "display_name" {
  description = "Name of the app registration."
  type        = string
  default     = "Warden"
}

variable "grant_admin_consent" {
  description = "Grant admin consent to the application permissions (app role assignments). Set false to consent in the portal instead."
  type        = bool
  default     = true
}

variable "enable_management_activity" {
  description = "Also request ActivityFeed.Read on the Office 365 Management APIs, for the Exchange mailbox-rule poller (entra.managementActivity.enabled)."
  type        = bool
  default     = false
}

variable "enable_revoke_new_credential" {
  description = "Also request Application.ReadWrite.All, for the revoke_new_credential action (remove a secret or certificate added to an application or service principal without a request). Strong: it can change any app registration. Off by default; the action fails for good without it."
  type        = bool
  default     = false
}

variable "certificate_pem_file" {
  description = "PEM file with the public certificate Warden authenticates with (entra.credential.certificate holds its private key). Null: add a credential yourself."
  type        = string
  default     = null
}

variable "certificate_end_date" {
  description = "End date of the certificate credential (RFC 3339). Null: the certificate's own expiry."
  type        = string
  default     = null
}

variable "directory_roles" {
  description = "Directory roles for Warden's service principal, e.g. [\"Privileged Authentication Administrator\"] so it can contain privileged accounts. Empty: none."
  type        = list(string)
  default     = []
}
