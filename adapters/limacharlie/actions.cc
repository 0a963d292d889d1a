#include "adapters/limacharlie/actions.h"

#include <google/protobuf/descriptor.h>

#include "halopsa/v1/halopsa.pb.h"

namespace halopsa::lc {
namespace {

constexpr bool kRequired = true;

// Labels and descriptions are the product page's (mirror_case's and
// pull_ticket_changes' are this extension's own).
constexpr FieldDoc kCreateTicketFields[] = {
    {"summary", "Summary", "Required. Ticket subject line.", "", kRequired},
    {"details", "Details", "Ticket body."},
    {"client_id", "Client ID", "HaloPSA client (company) id."},
    {"site_id", "Site ID", "HaloPSA site id."},
    {"user_id", "User ID", "End-user id (ticket requester)."},
    {"agent_id", "Agent ID", "Agent id (assignee)."},
    {"team", "Team", "Team name."},
    {"tickettype_id", "Ticket type ID", "Ticket type id (Incident, Change, …)."},
    {"priority_id", "Priority ID", "Priority id."},
    {"status_id", "Status ID", "Initial status id."},
    {"impact", "Impact", "ITIL impact (1=high … 4=low)."},
    {"urgency", "Urgency", "ITIL urgency (1=high … 4=low)."},
    {"category_1", "Category", "Top-level category."},
    {"parent_id", "Parent ticket ID", "Parent ticket id (for sub-tickets)."},
    {"asset_ids", "Asset IDs", "Asset ids to attach."},
    {"customfields", "Custom fields",
     "Each entry {id, value}: custom fields are set by id (a name is refused, since nothing shows HaloPSA sets "
     "one by name)."},
    {"extra", "Extra fields",
     "Raw HaloPSA ticket fields to merge into the request — escape hatch for fields not modeled above."},
    {"dedupe_key", "Dedupe key",
     "Storm deduplication (opt-in), usually a template such as {{ .cat }}-{{ .routing.hostname }}. While a ticket "
     "this extension opened with the same key for the same client_id is open and younger than dedupe_window_min, "
     "the detection becomes a private note on it (merged with others arriving together) and the answer is that "
     "ticket with deduplicated: true."},
    {"dedupe_window_min", "Dedupe window (minutes)",
     "Minutes from its opening during which a deduplicating ticket takes further detections of its key; 1 to "
     "10080.",
     "60"},
};

constexpr FieldDoc kUpdateTicketFields[] = {
    {"id", "Ticket ID", "Required. Ticket id to update.", "", kRequired},
    {"summary", "Summary", "New summary."},
    {"details", "Details", "New body."},
    {"status_id", "Status ID", "New status id."},
    {"agent_id", "Agent ID", "New assignee."},
    {"priority_id", "Priority ID", "New priority."},
    {"asset_ids", "Asset IDs",
     "Replaces the ticket's asset list. Use link_asset_to_ticket to merge a new asset into the existing list."},
    {"customfields", "Custom fields", "Custom fields to set, each {id, value}."},
    {"extra", "Extra fields", "Raw HaloPSA ticket fields to merge."},
};

constexpr FieldDoc kSearchTicketsFields[] = {
    {"search", "Search", "Free-text search across ticket summary/details."},
    {"client_id", "Client ID", "Restrict to a client."},
    {"agent_id", "Agent ID", "Restrict to an assignee."},
    {"status_ids", "Status IDs", "Comma-separated status ids."},
    {"tickettype_id", "Ticket type ID", "Restrict to a ticket type."},
    {"page_size", "Page size", "Default 50.", "50"},
    {"page_no", "Page number", "Default 1 (1-based).", "1"},
    {"order", "Order by", "Order-by field (e.g. id)."},
    {"orderdesc", "Descending", "Descending order."},
};

constexpr FieldDoc kAddActionFields[] = {
    {"ticket_id", "Ticket ID", "Required. Ticket id to append to.", "", kRequired},
    {"note", "Note", "Required. Note/reply content.", "", kRequired},
    {"hiddenfromuser", "Hidden from user", "true (default) = private; false = public reply.", "true"},
    {"timetaken", "Time taken",
     "Time taken on this action (whole hours only). For fractional hours, pass via extra.timetaken."},
    {"actionchargehours", "Charge hours",
     "Billable hours (whole hours only). For fractional hours, pass via extra.actionchargehours."},
    {"outcome", "Outcome",
     "Outcome label (drives HaloPSA workflow transitions). Defaults to the default_outcome(_id) setting, else "
     "Note."},
    {"extra", "Extra fields", "Raw HaloPSA action fields to merge."},
    {"outcome_id", "Outcome ID", "Outcome id (ids differ between tenants); instead of outcome."},
};

constexpr FieldDoc kLinkAssetFields[] = {
    {"ticket_id", "Ticket ID", "Required. Ticket id to link the asset to.", "", kRequired},
    {"hostname", "Hostname", "Required. Hostname to resolve (matched via inventory_number / key_field).", "",
     kRequired},
    {"client_id", "Client ID", "Required when the asset must be created."},
    {"site_id", "Site ID", "Used on asset create."},
    {"asset_type_id", "Asset type ID",
     "Required when the asset must be created (HaloPSA rejects asset creates without an asset type)."},
    {"create_if_missing", "Create if missing", "If true (default), create the asset when no match is found.", "true"},
};

constexpr FieldDoc kLookupClientSiteFields[] = {
    {"type", "Type", "Required. client or site.", "", kRequired},
    {"search", "Search", "Name match."},
    {"client_id", "Client ID", "Restrict sites to a client (only when type=site)."},
    {"page_size", "Page size", "Default 50.", "50"},
    {"page_no", "Page number", "Default 1.", "1"},
};

constexpr FieldDoc kMirrorCaseFields[] = {
    {"case_id", "Case ID",
     "Required. The LimaCharlie case id (letters, digits and . _ : -). Its ticket is created on the first call and "
     "updated by every later one; the ticket's body ends with the line 'ext-halopsa case <label> <case_id>' "
     "(label: the case_label setting, default LimaCharlie), by which it is found again.",
     "", kRequired},
    {"summary", "Summary", "Ticket subject line; a new ticket without one is 'LimaCharlie case <case_id>'."},
    {"details", "Details", "Ticket body (the case line is kept at its end)."},
    {"priority_id", "Priority ID", "Priority id."},
    {"status_id", "Status ID", "Status id."},
    {"client_id", "Client ID", "HaloPSA client (company) id."},
    {"site_id", "Site ID", "HaloPSA site id."},
    {"tickettype_id", "Ticket type ID", "Ticket type id."},
    {"note", "Note", "Appended to the ticket as a private note (hiddenfromuser) with the default outcome."},
    {"hostname", "Hostname",
     "Linked to the ticket as link_asset_to_ticket does; a host HaloPSA does not have is created only with "
     "asset_type_id and client_id."},
    {"extra", "Extra fields", "Raw HaloPSA ticket fields to merge (not id)."},
    {"asset_type_id", "Asset type ID", "Asset type of an asset created for hostname."},
};

constexpr FieldDoc kPullTicketChangesFields[] = {
    {"watermark", "Watermark",
     "The watermark the previous pull answered; empty = from the beginning. Changes at or after it are answered, "
     "each once."},
    {"limit", "Limit", "Changes (tickets) per answer, 1 to 100.", "50"},
    {"cursor", "Cursor", "The cursor of the previous answer, to get the rest of a pull."},
};

// What each answer's `data` holds (the product page's return shapes).
constexpr FieldDoc kTicketAnswer[] = {
    {"id", "Ticket ID", "The ticket's id. The answer is the ticket: HaloPSA's ticket object with this id.", "",
     kRequired},
};

constexpr FieldDoc kCreateTicketAnswer[] = {
    {"id", "Ticket ID",
     "The ticket's id. The answer is the ticket: HaloPSA's ticket object with this id (when deduplicated, the "
     "existing ticket's id, summary, client, site, status, type, priority, agent and dateoccurred).",
     "", kRequired},
    {"deduplicated", "Deduplicated",
     "true when no ticket was opened: the request's dedupe_key matched an open ticket, and the detection became a "
     "private note on it.",
     "", kRequired},
};

constexpr FieldDoc kSearchTicketsAnswer[] = {
    {"record_count", "Record count", "How many tickets match (across all pages).", "", kRequired},
    {"tickets", "Tickets", "This page's tickets, HaloPSA's ticket objects."},
};

constexpr FieldDoc kAddActionAnswer[] = {
    {"id", "Action ID", "The created action's id. The answer is the action: HaloPSA's action object.", "",
     kRequired},
    {"ticket_id", "Ticket ID", "The ticket the action was appended to."},
};

constexpr FieldDoc kLinkAssetAnswer[] = {
    {"asset_id", "Asset ID", "The linked asset's id.", "", kRequired},
    {"asset_created", "Asset created", "True when this call created the asset."},
    {"asset", "Asset", "The asset, HaloPSA's asset object."},
    {"ticket", "Ticket", "The ticket with its linked assets, HaloPSA's ticket object."},
};

constexpr FieldDoc kLookupClientSiteAnswer[] = {
    {"record_count", "Record count", "How many clients or sites match.", "", kRequired},
    {"clients", "Clients", "Matching clients (type client), HaloPSA's client objects."},
    {"sites", "Sites", "Matching sites (type site), HaloPSA's site objects."},
};

constexpr FieldDoc kMirrorCaseAnswer[] = {
    {"ticket_id", "Ticket ID", "The case's ticket.", "", kRequired},
    {"created", "Created", "true when this call created the ticket."},
    {"updated_fields", "Updated fields",
     "What this call changed: the ticket fields that differed, note when a note was added, hostname when the "
     "host's asset is linked."},
};

constexpr FieldDoc kPullTicketChangesAnswer[] = {
    {"changes", "Changes",
     "Mirrored tickets others changed: {ticket_id, case_id, status_id, status, case_status (new, in_progress, "
     "resolved, closed), agent_id, agent, actions: [{id, text, time, author}]}; never this extension's own "
     "writes.",
     "", kRequired},
    {"watermark", "Watermark", "On the last answer of a pull: pass it to the next pull."},
    {"cursor", "Cursor", "When more changes remain: call again with it."},
};

constexpr ActionSpec kActions[] = {
    {
        .name = "create_ticket",
        .method = "CreateTicket",
        .label = "Create ticket",
        .short_description = "Open a new ticket. Only summary is required.",
        .long_description = "Open a new ticket. Only summary is required. Returns the created ticket, including "
                            "its assigned id, and deduplicated: false; with a dedupe_key, a detection added to "
                            "an open ticket of its key returns that ticket (id, summary, client, site, status) "
                            "with deduplicated: true.",
        .fields = kCreateTicketFields,
        .result = ResultShape::kObject,
        .result_object = "ticket",
        .response_fields = kCreateTicketAnswer,
        .writes = true,
    },
    {
        .name = "update_ticket",
        .method = "UpdateTicket",
        .label = "Update ticket",
        .short_description = "Update an existing ticket.",
        .long_description = "Update an existing ticket. Use to change status (which drives HaloPSA status → "
                            "outcome → workflow transitions), reassign, set priority, or set the linked assets. "
                            "Returns the updated ticket.",
        .fields = kUpdateTicketFields,
        .result = ResultShape::kObject,
        .result_object = "ticket",
        .response_fields = kTicketAnswer,
        .writes = true,
    },
    {
        .name = "search_tickets",
        .method = "SearchTickets",
        .label = "Search tickets",
        .short_description = "Search/list tickets.",
        .long_description = "Search/list tickets. Useful to deduplicate before creating, or to look up existing "
                            "work for an asset. Returns { \"record_count\": N, \"tickets\": [...] }.",
        .fields = kSearchTicketsFields,
        .result = ResultShape::kMessage,
        .response_fields = kSearchTicketsAnswer,
    },
    {
        .name = "add_action",
        .method = "AddAction",
        .label = "Add action",
        .short_description = "Append a private note or a public reply to a ticket, optionally with billable "
                             "time.",
        .long_description = "Append a HaloPSA Action to a ticket: a private note (agents only) or a public reply "
                            "(visible to the end-user), optionally with billable time. Useful for AI agents to "
                            "record triage findings and log work time. Defaults to private (hiddenfromuser=true) "
                            "to avoid accidentally pushing security notes to end-users. Set hiddenfromuser: false "
                            "explicitly for a public reply. Returns the created action.",
        .fields = kAddActionFields,
        .result = ResultShape::kObject,
        .result_object = "action",
        .response_fields = kAddActionAnswer,
        .writes = true,
    },
    {
        .name = "link_asset_to_ticket",
        .method = "LinkAssetToTicket",
        .label = "Link asset to ticket",
        .short_description = "Resolve a hostname to a HaloPSA asset and attach it to a ticket.",
        .long_description = "Resolve a hostname to a HaloPSA asset under the given client/site, optionally "
                            "creating the asset if missing, and attach it to the ticket. Bridges LC sensor "
                            "telemetry to the MSP CMDB. Returns { \"asset_id\": N, \"asset_created\": bool, "
                            "\"asset\": {...}, \"ticket\": {...} }. The link is idempotent — re-running against "
                            "an already-linked asset will not produce duplicates.",
        .fields = kLinkAssetFields,
        .result = ResultShape::kMessage,
        .response_fields = kLinkAssetAnswer,
        .writes = true,
    },
    {
        .name = "lookup_client_site",
        .method = "LookupClientSite",
        .label = "Look up client or site",
        .short_description = "Resolve a HaloPSA client or site id from a name.",
        .long_description = "Resolve a HaloPSA client or site id from a name. Useful as plumbing for AI agents "
                            "that need to map an LC org to a Halo client. Returns { \"record_count\": N, "
                            "\"clients\": [...] } or { \"record_count\": N, \"sites\": [...] } depending on type.",
        .fields = kLookupClientSiteFields,
        .result = ResultShape::kListByType,
        .response_fields = kLookupClientSiteAnswer,
    },
    {
        .name = "mirror_case",
        .method = "MirrorCase",
        .label = "Mirror case",
        .short_description = "Create or update the HaloPSA ticket of a LimaCharlie case.",
        .long_description = "Idempotent upsert of a LimaCharlie case as a HaloPSA ticket: the first call creates "
                            "the ticket, every later call with the same case_id updates that ticket (only the "
                            "fields that differ), adds the note and links the host. Concurrent calls for one "
                            "case make one ticket. Returns { \"ticket_id\": N, \"created\": bool, "
                            "\"updated_fields\": [...] }.",
        .fields = kMirrorCaseFields,
        .result = ResultShape::kMessage,
        .response_fields = kMirrorCaseAnswer,
        .writes = true,
    },
    {
        .name = "pull_ticket_changes",
        .method = "PullTicketChanges",
        .label = "Pull ticket changes",
        .short_description = "The mirrored tickets that technicians changed since a watermark.",
        .long_description = "Returns the tickets mirrored from cases that someone other than this extension "
                            "changed at or after the watermark (new notes, status changes), normalised for "
                            "applying back to cases, each change once; this extension's own writes never come "
                            "back. Returns { \"changes\": [...], \"watermark\": \"...\" } or, when more remain, "
                            "{ \"changes\": [...], \"cursor\": \"...\" }.",
        .fields = kPullTicketChangesFields,
        .result = ResultShape::kMessage,
        .response_fields = kPullTicketChangesAnswer,
    },
};

}  // namespace

absl::Span<const ActionSpec> Actions() { return kActions; }

const ActionSpec* FindAction(absl::string_view name) {
  for (const ActionSpec& action : kActions) {
    if (action.name == name) return &action;
  }
  return nullptr;
}

const FieldDoc* FindFieldDoc(const ActionSpec& action, absl::string_view field) {
  for (const FieldDoc& doc : action.fields) {
    if (doc.name == field) return &doc;
  }
  return nullptr;
}

const google::protobuf::MethodDescriptor& MethodOf(const ActionSpec& action) {
  static const google::protobuf::ServiceDescriptor* const service =
      v1::CreateTicketRequest::descriptor()->file()->FindServiceByName("HaloPsaService");
  return *service->FindMethodByName(std::string(action.method));
}

}  // namespace halopsa::lc
