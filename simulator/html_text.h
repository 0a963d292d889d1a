#ifndef HALOPSA_SIMULATOR_HTML_TEXT_H_
#define HALOPSA_SIMULATOR_HTML_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace halopsa::sim {

// The plain text HaloPSA derives from a ticket's details_html or an
// action's note_html: tags and HTML comments removed, <br> and block ends
// as line breaks, the common entities decoded. Text without markup comes
// back unchanged but for trailing whitespace.
std::string HtmlToText(absl::string_view html);

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_HTML_TEXT_H_
