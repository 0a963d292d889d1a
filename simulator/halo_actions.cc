#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "simulator/halo_data.h"
#include "simulator/halo_query.h"

// HaloData's actions (notes, replies, status changes) and agents.
namespace halopsa::sim {

// ---- Actions ----

ApiReply HaloData::ListActions(const QueryParams& params) const {
  QueryReader query(params);
  const std::optional<int64_t> ticket_id = query.Int("ticket_id");
  const DateWindow window = DateWindow::OfActions(query);
  std::vector<const Struct*> rows;
  for (const auto& [id, timeline] : actions_) {
    if (ticket_id.has_value() && id != *ticket_id) continue;
    for (const Struct& action : timeline) {
      if (window.Contains(action)) rows.push_back(&action);
    }
  }
  return ListReply("actions", std::move(rows), query);
}

std::optional<ApiReply> HaloData::CheckAction(const Struct& input) const {
  const int64_t ticket_id = IntField(input, "ticket_id").value_or(0);
  if (!tickets_.contains(ticket_id)) return NotFound("Ticket", ticket_id);
  // An outcome this tenant does not have counts as none (what Halo says to
  // an unknown one is unconfirmed).
  const std::string outcome(absl::StripAsciiWhitespace(StringField(input, "outcome")));
  const bool known_name = std::any_of(outcomes_.begin(), outcomes_.end(), [&](const auto& known) {
    return absl::EqualsIgnoreCase(known.second, outcome);
  });
  const bool has_outcome = outcomes_.contains(IntField(input, "outcome_id").value_or(0)) || known_name;
  if (!has_outcome) return ErrorList("An Outcome must be entered for this Action");
  for (const char* hours : {"timetaken", "actionchargehours"}) {
    const Value* value = Field(input, hours);
    if (value != nullptr && !value->has_number_value()) {
      return FieldError(hours, "must be a number of hours");
    }
  }
  return std::nullopt;
}

Struct HaloData::SaveAction(const Struct& input) {
  const int64_t ticket_id = *IntField(input, "ticket_id");
  Struct action;
  Set(action, "note", JsonString(""));
  Set(action, "hiddenfromuser", JsonBool(false));
  Set(action, "timetaken", JsonNumber(0));
  Set(action, "actionchargehours", JsonNumber(0));
  Set(action, "datetime", JsonString(HaloNow()));
  for (const auto& [key, value] : input.fields()) Set(action, key, value);
  DeriveText(action, input, "note", "note_html");
  // Whatever comes through the API is the API application's agent's.
  SetAuthor(action, kApiAgentId);
  return AppendAction(ticket_id, std::move(action));
}

Struct HaloData::AppendAction(int64_t ticket_id, Struct action) {
  std::vector<Struct>& timeline = actions_[ticket_id];
  Struct& ticket = tickets_.at(ticket_id);
  // An action may move the ticket to another status (a technician's status
  // change is an action too).
  if (const std::optional<int64_t> status = IntField(action, "new_status")) {
    Set(action, "old_status", *Field(ticket, "status_id"));
    Set(ticket, "status_id", JsonNumber(static_cast<double>(*status)));
  }
  Set(action, "id", JsonNumber(static_cast<double>(timeline.size() + 1)));
  Set(action, "ticket_id", JsonNumber(static_cast<double>(ticket_id)));
  Set(ticket, "last_update", *Field(action, "datetime"));
  timeline.push_back(action);
  return action;
}

void HaloData::SetAuthor(Struct& action, int64_t agent_id) const {
  Set(action, "who_agentid", JsonNumber(static_cast<double>(agent_id)));
  const auto agent = agents_.find(agent_id);
  Set(action, "who", JsonString(agent == agents_.end() ? "" : agent->second));
}

std::optional<Struct> HaloData::TechnicianAction(int64_t agent_id, int64_t ticket_id, const std::string& note,
                                                 std::optional<int64_t> new_status) {
  if (!tickets_.contains(ticket_id) || !agents_.contains(agent_id)) return std::nullopt;
  Struct action;
  Set(action, "note", JsonString(note));
  Set(action, "note_html", JsonString(note));
  Set(action, "outcome", JsonString(new_status ? "Status Change" : "Note"));
  Set(action, "hiddenfromuser", JsonBool(true));
  Set(action, "datetime", JsonString(HaloNow()));
  if (new_status) Set(action, "new_status", JsonNumber(static_cast<double>(*new_status)));
  SetAuthor(action, agent_id);
  return AppendAction(ticket_id, std::move(action));
}

ApiReply HaloData::GetAgent(int64_t id) const {
  const auto agent = agents_.find(id);
  if (agent == agents_.end()) return NotFound("Agent", id);
  Struct body;
  Set(body, "id", JsonNumber(static_cast<double>(id)));
  Set(body, "name", JsonString(agent->second));
  return Reply(200, ObjectValue(std::move(body)));
}


}  // namespace halopsa::sim
