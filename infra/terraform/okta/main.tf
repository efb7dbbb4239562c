# Okta set-up for Warden with the okta Terraform provider: the event hook
# (exactly the event types Warden needs, from warden-event-types.tf.json,
# generated from connectors/okta/event-types.ts) and the hold group.
#
# The same as `warden okta hooks register` and `warden okta provision`;
# use one or the other. See docs/okta.md.

terraform {
  required_providers {
    okta = {
      source = "okta/okta"
    }
  }
}

locals {
  # Without the signal types (MFA challenge outcomes) when the poller delivers them (hook_signals = false).
  warden_hook_event_types = [for t in local.warden_event_types : t if var.hook_signals || !contains(local.warden_signal_event_types, t)]
}

resource "okta_event_hook" "warden" {
  name   = "Warden (${var.tenant})"
  events = local.warden_hook_event_types

  channel = {
    type    = "HTTP"
    version = "1.0.0"
    uri     = "${trimsuffix(var.warden_url, "/")}/hooks/okta/${var.tenant}/events"
  }

  auth = {
    type  = "HEADER"
    key   = var.hook_header
    value = var.hook_secret
  }
}

# Okta calls Warden once with a challenge; the hook delivers nothing until verified.
resource "okta_event_hook_verification" "warden" {
  event_hook_id = okta_event_hook.warden.id
}

resource "okta_group" "warden_hold" {
  name        = var.hold_group
  description = "Users Warden holds until a change is verified and approved. Managed by Warden: do not add or remove members by hand."
}

output "hold_group_id" {
  value       = okta_group.warden_hold.id
  description = "Put it in warden.yaml (tenants[].okta.holdGroup.id) and in the account management policy rule (docs/okta.md)"
}
