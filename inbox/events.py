"""Names of the domain events pushed to agents (websocket) and other consumers."""

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
# Besides ticket.updated on an assignee change: the ticket view plus `previousAssigneeId` and
# `assignedBy` ({id, name}), which ticket.updated cannot say.
TICKET_ASSIGNED = "ticket.assigned"
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
MESSAGE_DELETED = "message.deleted"
# {"userId", "notification"}: org events reach every member, so clients show only their own.
NOTIFICATION_CREATED = "notification.created"
# Campaigns: the campaign view; `campaign.updated` also carries `stats` (progress counts).
CAMPAIGN_STARTED = "campaign.started"
CAMPAIGN_UPDATED = "campaign.updated"
CAMPAIGN_COMPLETED = "campaign.completed"
# Sent to one websocket when its `since` id is older than what the log still holds.
RESYNC_REQUIRED = "resync.required"
