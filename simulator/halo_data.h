#ifndef HALOPSA_SIMULATOR_HALO_DATA_H_
#define HALOPSA_SIMULATOR_HALO_DATA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "simulator/json.h"

namespace halopsa::sim {

// Decoded query parameters in the order received.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

// One answer of the /api surface; `body` is JSON, or empty for none.
struct ApiReply {
  int status = 200;
  std::string body;
};

// The simulated tenant: seeded records and HaloPSA's /api behaviour over them,
// quirks included (see /work/shared/reference/halopsa-api.md). Not
// thread-safe: HaloSimulator serializes calls.
class HaloData {
 public:
  HaloData();  // seeded; see Seed() (halo_seed.cc) for the records tests may rely on

  static constexpr int64_t kClosedStatus = 9;
  // The agent the API application logs on as (GET /api/Agent/me): every
  // ticket and action written through the API is its.
  static constexpr int64_t kApiAgentId = 3;

  // `path` is the part after "/api/", e.g. "Tickets/2884".
  ApiReply Handle(const std::string& method, const std::string& path, const QueryParams& query,
                  const std::string& body);

  std::vector<Struct> tickets() const;  // by id
  std::optional<Struct> ticket(int64_t id) const;
  std::vector<Struct> actions(int64_t ticket_id) const;
  std::vector<Struct> assets() const;
  // {"tickets": [...], "actions": [...], "assets": [...]}
  Struct Snapshot() const;

  // A technician's note on a ticket (private), changing its status when
  // `new_status` is set, as HaloPSA's agent UI would: an action by
  // `agent_id`. nullopt when the ticket or agent does not exist.
  std::optional<Struct> TechnicianAction(int64_t agent_id, int64_t ticket_id, const std::string& note,
                                         std::optional<int64_t> new_status);

 private:
  using Table = std::map<int64_t, Struct>;
  using ListFn = ApiReply (HaloData::*)(const QueryParams&) const;
  using CheckFn = std::optional<ApiReply> (HaloData::*)(const Struct&) const;
  using SaveFn = Struct (HaloData::*)(const Struct&);

  // Create/update: `body` must be a JSON array of objects; all of them are
  // checked before any is saved.
  ApiReply PostBatch(const std::string& body, CheckFn check, SaveFn save);

  ApiReply ListTickets(const QueryParams& query) const;
  ApiReply GetTicket(int64_t id, const QueryParams& query) const;
  std::optional<ApiReply> CheckTicket(const Struct& input) const;
  Struct SaveTicket(const Struct& input);
  std::optional<ApiReply> CheckAssetLinks(const Value& links) const;
  std::optional<ApiReply> CheckCustomFields(const Value& entries) const;
  // {id, name} of the definition an entry names by "id" or "name".
  std::optional<std::pair<int64_t, std::string>> ResolveCustomField(const Value& entry) const;
  void MergeCustomFields(Struct& ticket, const Value& entries) const;
  Value AssetLinks(const Value& links) const;

  ApiReply ListActions(const QueryParams& query) const;
  std::optional<ApiReply> CheckAction(const Struct& input) const;
  Struct SaveAction(const Struct& input);
  // Numbers `action` within its ticket, applies its new_status, and marks
  // the ticket updated.
  Struct AppendAction(int64_t ticket_id, Struct action);
  void SetAuthor(Struct& action, int64_t agent_id) const;
  ApiReply GetAgent(int64_t id) const;

  ApiReply ListAssets(const QueryParams& query) const;
  std::optional<ApiReply> CheckAsset(const Struct& input) const;
  Struct SaveAsset(const Struct& input);

  ApiReply ListClients(const QueryParams& query) const;
  ApiReply ListSites(const QueryParams& query) const;

  // Sets the *_name fields that follow from client_id, site_id, agent_id
  // and assettype_id.
  void AddNames(Struct& record) const;
  // The records every tenant starts with (halo_seed.cc), in this order:
  // sites name their clients, assets and tickets name both.
  void Seed();
  void SeedClientsAndSites();
  void SeedAssets();
  struct TicketSeed;
  void SeedTicket(const TicketSeed& seed);
  void SeedTickets();

  Table clients_;
  Table sites_;
  Table assets_;
  Table tickets_;
  // Per ticket; an action's id is its position + 1.
  std::map<int64_t, std::vector<Struct>> actions_;
  std::map<int64_t, std::string> asset_types_;
  std::map<int64_t, std::string> agents_;
  std::map<int64_t, std::string> custom_fields_;
  // This tenant's action outcomes; ids and names differ between tenants.
  std::map<int64_t, std::string> outcomes_;
  int64_t next_ticket_id_ = 1;
  int64_t next_asset_id_ = 1;
};

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_HALO_DATA_H_
