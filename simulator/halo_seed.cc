// The records every simulated tenant starts with; tests rely on them (see
// README "The simulator").

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "simulator/halo_data.h"

namespace halopsa::sim {
namespace {

Value Number(int64_t n) { return JsonNumber(static_cast<double>(n)); }

}  // namespace

struct HaloData::TicketSeed {
  int64_t id;
  std::string summary;
  std::string details;
  int64_t client_id;
  int64_t site_id;
  int64_t agent_id;
  int64_t status_id;
  int64_t tickettype_id;
  std::vector<int64_t> asset_ids;
};

void HaloData::Seed() {
  SeedClientsAndSites();
  asset_types_ = {{1, "Workstation"}, {2, "Server"}};
  agents_ = {{1, "Alice"}, {2, "Bob"}, {kApiAgentId, "LimaCharlie API"}};
  custom_fields_ = {{101, "CFSensorId"}, {102, "CFDetectionCategory"}};
  outcomes_ = {{1, "Note"}, {2, "Private Note"}, {3, "Email User"}, {4, "Logged"},
               {5, "Resolved"}, {7, "Remote Session"}, {12, "Phone Call"}};
  SeedAssets();
  SeedTickets();
}

void HaloData::SeedClientsAndSites() {
  struct ClientSeed {
    int64_t id;
    const char* name;
    bool inactive;
  };
  for (const ClientSeed& seed : {ClientSeed{1, "Acme Corp", false}, ClientSeed{2, "Globex", false},
                                 ClientSeed{12, "Contoso", false}, ClientSeed{13, "Initech", true}}) {
    Struct client;
    Set(client, "id", Number(seed.id));
    Set(client, "name", JsonString(seed.name));
    Set(client, "inactive", JsonBool(seed.inactive));
    Set(client, "toplevel_id", Number(1));
    Set(client, "toplevel_name", JsonString("Top Level"));
    clients_[seed.id] = std::move(client);
  }

  struct SiteSeed {
    int64_t id;
    const char* name;
    int64_t client_id;
  };
  for (const SiteSeed& seed : {SiteSeed{1, "Acme HQ", 1}, SiteSeed{2, "Acme Branch", 1},
                               SiteSeed{3, "Globex Main", 2}, SiteSeed{18, "Contoso HQ", 12}}) {
    Struct site;
    Set(site, "id", Number(seed.id));
    Set(site, "name", JsonString(seed.name));
    Set(site, "client_id", Number(seed.client_id));
    Set(site, "inactive", JsonBool(false));
    AddNames(site);
    sites_[seed.id] = std::move(site);
  }
}

void HaloData::SeedAssets() {
  struct AssetSeed {
    const char* inventory_number;
    const char* key_field;  // null: not set
    int64_t client_id;
    int64_t site_id;
    int64_t assettype_id;
  };
  for (const AssetSeed& seed : {AssetSeed{"ACME-WS-001", nullptr, 1, 1, 1},
                                AssetSeed{"", "globex-db01", 2, 3, 2},
                                AssetSeed{"CONTOSO-LT-7", nullptr, 12, 18, 1}}) {
    Struct asset;
    Set(asset, "inventory_number", JsonString(seed.inventory_number));
    if (seed.key_field != nullptr) Set(asset, "key_field", JsonString(seed.key_field));
    Set(asset, "client_id", Number(seed.client_id));
    Set(asset, "site_id", Number(seed.site_id));
    Set(asset, "assettype_id", Number(seed.assettype_id));
    SaveAsset(asset);  // ids 1, 2, 3
  }
}

void HaloData::SeedTicket(const TicketSeed& seed) {
  Struct ticket;
  Set(ticket, "summary", JsonString(seed.summary));
  Set(ticket, "details", JsonString(seed.details));
  Set(ticket, "client_id", Number(seed.client_id));
  Set(ticket, "site_id", Number(seed.site_id));
  Set(ticket, "agent_id", Number(seed.agent_id));
  Set(ticket, "status_id", Number(seed.status_id));
  Set(ticket, "tickettype_id", Number(seed.tickettype_id));
  Set(ticket, "priority_id", Number(3));
  std::vector<Value> links;
  for (int64_t asset_id : seed.asset_ids) {
    Struct link;
    Set(link, "id", Number(asset_id));
    links.push_back(ObjectValue(std::move(link)));
  }
  Set(ticket, "assets", ListValue(std::move(links)));
  next_ticket_id_ = seed.id;
  SaveTicket(ticket);
  // The tenant's history predates whatever a test does.
  Set(tickets_.at(seed.id), "last_update", JsonString("2026-01-05T09:00:00"));
}

void HaloData::SeedTickets() {
  // 120 tickets for Globex so lists can be paged past the 100 cap; status
  // cycles New, In Progress, Closed and the agent alternates Alice, Bob.
  for (int n = 1; n <= 120; ++n) {
    const int64_t status = n % 3 == 1 ? 1 : n % 3 == 2 ? 2 : kClosedStatus;
    SeedTicket({1000 + n, absl::StrCat("Seeded ticket ", n), "Generated for paging tests.", 2, 3,
                n % 2 == 1 ? 1 : 2, status, 1, {}});
  }
  SeedTicket({2880, "Printer offline", "The second floor printer shows offline.", 1, 1, 2, 1, 3, {1}});
  SeedTicket({2881, "VPN not connecting", "Remote users cannot reach the VPN.", 1, 2, 1, 2, 1, {}});
  SeedTicket({2882, "Disk space low on db01", "The data volume is 95% full.", 2, 3, 2, kClosedStatus, 1, {2}});
  SeedTicket({2883, "New laptop request", "A laptop for the new starter.", 12, 18, 0, 1, 3, {}});
  SeedTicket({2884, "Suspicious login", "Multiple failed sign-ins followed by a success from a new country.", 12,
              18, 1, 2, 1, {}});
  next_ticket_id_ = tickets_.rbegin()->first + 1;
}

}  // namespace halopsa::sim
