#ifndef HALOPSA_ADAPTERS_LIMACHARLIE_SCHEMA_H_
#define HALOPSA_ADAPTERS_LIMACHARLIE_SCHEMA_H_

#include <string>

namespace halopsa::lc {

// The answer to a schema_request, as the envelope's `data` JSON:
// {"config_schema", "request_schema", "required_events": [], "views": []}.
// Every action of Actions() with every field of its request message (names
// and types from the descriptors, words and defaults from the action table)
// and every config field of ConfigFields().
std::string SchemaJson();

}  // namespace halopsa::lc

#endif  // HALOPSA_ADAPTERS_LIMACHARLIE_SCHEMA_H_
