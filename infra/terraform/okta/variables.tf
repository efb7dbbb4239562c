variable "tenant" {
  type        = string
  description = "Warden tenant id (tenants[].id in warden.yaml)"
}

variable "warden_url" {
  type        = string
  description = "Warden's public https base URL, e.g. https://warden.example.com"
}

variable "hook_header" {
  type        = string
  default     = "Authorization"
  description = "Header carrying the shared secret (tenants[].okta.eventHook.header)"
}

variable "hook_secret" {
  type        = string
  sensitive   = true
  description = "The shared secret (the value of tenants[].okta.eventHook.secret)"
}

variable "hold_group" {
  type        = string
  default     = "Warden Hold"
  description = "Name of the hold group (tenants[].okta.holdGroup.name)"
}

variable "hook_signals" {
  type        = bool
  default     = true
  description = "Subscribe the hook to user.authentication.auth_via_mfa, the MFA challenge outcomes push-fatigue detection reads (tenants[].okta.eventHook.signals); false leaves them to the System Log poller"
}
