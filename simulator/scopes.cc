#include "simulator/scopes.h"

#include <algorithm>
#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace halopsa::sim {
namespace {

// The areas HaloPSA's API application permissions name (read:X / edit:X).
constexpr std::array<absl::string_view, 10> kAreas = {"tickets",  "customers", "assets", "crm",      "items",
                                                      "projects", "invoices",  "kb",     "contracts", "reporting"};

// Which area an /api route belongs to; actions are part of tickets.
constexpr std::array<std::pair<absl::string_view, absl::string_view>, 5> kRouteAreas = {{
    {"tickets", "tickets"}, {"actions", "tickets"}, {"asset", "assets"}, {"client", "customers"}, {"site", "customers"},
}};

bool IsKnownScope(absl::string_view scope) {
  if (scope == "all") return true;
  for (absl::string_view area : kAreas) {
    if (scope == absl::StrCat("read:", area) || scope == absl::StrCat("edit:", area)) return true;
  }
  return false;
}

bool Grants(const std::vector<std::string>& granted, absl::string_view needed) {
  const std::string edit = absl::StrCat("edit:", needed.substr(needed.find(':') + 1));
  return std::any_of(granted.begin(), granted.end(),
                     [&](const std::string& scope) { return scope == "all" || scope == needed || scope == edit; });
}

}  // namespace

std::optional<std::vector<std::string>> ParseScopes(absl::string_view scope) {
  std::vector<std::string> scopes = absl::StrSplit(scope, ' ', absl::SkipWhitespace());
  for (const std::string& each : scopes) {
    if (!IsKnownScope(each)) return std::nullopt;
  }
  return scopes;
}

std::optional<std::string> MissingPermission(const std::vector<std::string>& granted, absl::string_view method,
                                             absl::string_view route) {
  const absl::string_view resource = route.substr(0, route.find('/'));
  for (const auto& [name, area] : kRouteAreas) {
    if (name != resource) continue;
    const std::string needed = absl::StrCat(method == "GET" ? "read:" : "edit:", area);
    if (Grants(granted, needed)) return std::nullopt;
    return needed;
  }
  return std::nullopt;
}

}  // namespace halopsa::sim
