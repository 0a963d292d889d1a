#ifndef HALOPSA_SIMULATOR_HALO_QUERY_H_
#define HALOPSA_SIMULATOR_HALO_QUERY_H_

// HaloPSA's conventions shared by every simulated /api resource: its error
// shapes, how it reads query parameters, and its list envelope and paging.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "simulator/halo_data.h"

namespace halopsa::sim {

ApiReply Reply(int status, const Value& body);
// Halo's error bodies: a bare JSON string, {"error"}, {"errors": [...]},
// and field-keyed {"field": ["..."]}.
ApiReply BareStringError(const std::string& message);
ApiReply ErrorObject(int status, const std::string& message);
ApiReply ErrorList(const std::string& message);
ApiReply FieldError(const std::string& field, const std::string& message);
ApiReply NotFound(absl::string_view kind, int64_t id);

bool ContainsIgnoreCase(const std::string& text, const std::string& needle);
// True when `wanted` is unset or record[key] equals it.
bool Matches(const Struct& record, const std::string& key, const std::optional<int64_t>& wanted);

// Reads query parameters the way Halo's model binder does: names are
// case-insensitive, and a malformed number is a 400 naming the parameter.
class QueryReader {
 public:
  explicit QueryReader(const QueryParams& params) : params_(params) {}

  std::optional<std::string> Get(absl::string_view name) const {
    for (const auto& [key, value] : params_) {
      if (absl::EqualsIgnoreCase(key, name)) return value;
    }
    return std::nullopt;
  }

  std::optional<int64_t> Int(absl::string_view name) {
    const std::optional<std::string> text = Get(name);
    if (!text.has_value()) return std::nullopt;
    int64_t value = 0;
    if (!absl::SimpleAtoi(*text, &value)) {
      Fail(name, *text);
      return std::nullopt;
    }
    return value;
  }

  // A single id or a comma-separated list of them.
  std::optional<std::vector<int64_t>> IntList(absl::string_view name) {
    const std::optional<std::string> text = Get(name);
    if (!text.has_value()) return std::nullopt;
    std::vector<int64_t> values;
    for (absl::string_view part : absl::StrSplit(*text, ',', absl::SkipWhitespace())) {
      int64_t value = 0;
      if (!absl::SimpleAtoi(part, &value)) {
        Fail(name, *text);
        return std::nullopt;
      }
      values.push_back(value);
    }
    return values;
  }

  bool Flag(absl::string_view name) const {
    const std::optional<std::string> text = Get(name);
    return text.has_value() && (absl::EqualsIgnoreCase(*text, "true") || *text == "1");
  }

  // The first malformed parameter, answered like Halo: {"name": ["..."]}.
  std::optional<ApiReply> Error() const { return error_; }

 private:
  void Fail(absl::string_view name, const std::string& text) {
    if (!error_.has_value()) {
      error_ = FieldError(std::string(name), absl::StrCat("The value '", text, "' is not valid."));
    }
  }

  const QueryParams& params_;
  std::optional<ApiReply> error_;
};

// The list envelope {"record_count": total, key: [...]} after ordering and
// Halo's paging rules: a page only with pageinate=true and an explicit
// page_no, page_size capped at 100; otherwise the first 50.
ApiReply ListReply(const std::string& key, std::vector<const Struct*> rows, QueryReader& query);

ApiReply GetOne(const std::map<int64_t, Struct>& table, absl::string_view kind, int64_t id);

// The time now as Halo writes it: "2026-12-01T23:10:05" (UTC, whole seconds).
std::string HaloNow();

// HaloPSA keeps the HTML it is given and derives the plain text from it,
// so what the plain field shows is what survives that derivation (an HTML
// comment does not). Plain text sent alone is taken as the HTML source too
// (Halo renders it as HTML; unconfirmed whether it is stored as given).
void DeriveText(Struct& record, const Struct& input, const std::string& text_key, const std::string& html_key);

// Halo's date filters: records whose date lies within [startdate, enddate]
// (inclusive here: HaloPSA's bounds are unconfirmed). Dates compare as
// Halo writes them ("2026-12-01T23:10:05"); a record without the date is
// outside any bound.
class DateWindow {
 public:
  // GET /api/Tickets: the column named by datesearch (lastupdate,
  // dateoccured or dateoccurred, datecleared); another or none: no filter.
  static DateWindow OfTickets(const QueryReader& query);
  // GET /api/Actions: the action's datetime.
  static DateWindow OfActions(const QueryReader& query);

  bool Contains(const Struct& record) const;

 private:
  std::string column_;  // empty: no filter
  std::optional<std::string> start_;
  std::optional<std::string> end_;
};

}  // namespace halopsa::sim

#endif  // HALOPSA_SIMULATOR_HALO_QUERY_H_
