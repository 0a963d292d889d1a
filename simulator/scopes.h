#ifndef HALOPSA_SIMULATOR_SCOPES_H_
#define HALOPSA_SIMULATOR_SCOPES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace halopsa::sim {

// The space-separated scopes of a token request, or nullopt when one of
// them is not a HaloPSA scope (the token endpoint answers invalid_scope;
// there is no read:actions or edit:actions: actions are tickets').
std::optional<std::vector<std::string>> ParseScopes(absl::string_view scope);

// The permission an API request needs that `granted` lacks (e.g.
// "edit:tickets"), or nullopt when it may proceed. `route` is the lower-case
// path after "/api/". "all" grants everything; edit:X implies read:X.
std::optional<std::string> MissingPermission(const std::vector<std::string>& granted, absl::string_view method,
                                             absl::string_view route);

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_SCOPES_H_
