#include "simulator/halo_query.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "simulator/html_text.h"

namespace halopsa::sim {
namespace {

constexpr int64_t kDefaultPageSize = 50;  // what Halo returns when not paging
constexpr int64_t kMaxPageSize = 100;     // Halo's server-side cap

// Orders by a field: numbers numerically, strings case-insensitively,
// missing values first; ties keep id order.
bool FieldLess(const Struct& a, const Struct& b, const std::string& key) {
  const Value* left = Field(a, key);
  const Value* right = Field(b, key);
  if (left == nullptr || right == nullptr) return left == nullptr && right != nullptr;
  if (left->has_number_value() && right->has_number_value()) {
    return left->number_value() < right->number_value();
  }
  if (left->has_string_value() && right->has_string_value()) {
    return absl::AsciiStrToLower(left->string_value()) <
           absl::AsciiStrToLower(right->string_value());
  }
  if (left->has_bool_value() && right->has_bool_value()) {
    return left->bool_value() < right->bool_value();
  }
  return left->kind_case() < right->kind_case();
}

}  // namespace

ApiReply Reply(int status, const Value& body) { return ApiReply{status, ToJson(body)}; }

ApiReply BareStringError(const std::string& message) { return Reply(400, JsonString(message)); }

ApiReply ErrorObject(int status, const std::string& message) {
  Struct body;
  Set(body, "error", JsonString(message));
  return Reply(status, ObjectValue(std::move(body)));
}

ApiReply ErrorList(const std::string& message) {
  Struct body;
  Set(body, "errors", ListValue({JsonString(message)}));
  return Reply(400, ObjectValue(std::move(body)));
}

ApiReply FieldError(const std::string& field, const std::string& message) {
  Struct body;
  Set(body, field, ListValue({JsonString(message)}));
  return Reply(400, ObjectValue(std::move(body)));
}

ApiReply NotFound(absl::string_view kind, int64_t id) {
  return ErrorObject(404, absl::StrCat(kind, " ", id, " not found"));
}

bool ContainsIgnoreCase(const std::string& text, const std::string& needle) {
  return absl::StrContains(absl::AsciiStrToLower(text), absl::AsciiStrToLower(needle));
}

bool Matches(const Struct& record, const std::string& key, const std::optional<int64_t>& wanted) {
  return !wanted.has_value() || IntField(record, key) == wanted;
}

ApiReply ListReply(const std::string& key, std::vector<const Struct*> rows, QueryReader& query) {
  const std::optional<std::string> order = query.Get("order");
  const bool descending = query.Flag("orderdesc");
  const std::optional<int64_t> page_no = query.Int("page_no");
  const std::optional<int64_t> page_size = query.Int("page_size");
  // Also reports malformed parameters the caller read before.
  if (std::optional<ApiReply> error = query.Error()) return *error;

  if (order.has_value() && !order->empty()) {
    std::stable_sort(rows.begin(), rows.end(), [&](const Struct* a, const Struct* b) {
      return FieldLess(*a, *b, *order);
    });
  }
  if (descending) std::reverse(rows.begin(), rows.end());

  const bool paged = query.Flag("pageinate") && page_no.has_value();
  const int64_t size = paged ? std::clamp<int64_t>(page_size.value_or(kDefaultPageSize), 1,
                                                   kMaxPageSize)
                             : kDefaultPageSize;
  const int64_t page = paged ? std::max<int64_t>(*page_no, 1) : 1;
  const int64_t total = static_cast<int64_t>(rows.size());
  // Clamping the page first keeps the product small; pages past the end
  // come out empty because end < begin there.
  const int64_t begin = (std::min(page, total + 1) - 1) * size;
  const int64_t end = std::min(total, begin + size);

  std::vector<Value> items;
  for (int64_t i = begin; i < end; ++i) items.push_back(ObjectValue(*rows[i]));
  Struct body;
  Set(body, "record_count", JsonNumber(static_cast<double>(total)));
  Set(body, key, ListValue(std::move(items)));
  if (paged) {
    Set(body, "page_no", JsonNumber(static_cast<double>(page)));
    Set(body, "page_size", JsonNumber(static_cast<double>(size)));
  }
  return Reply(200, ObjectValue(std::move(body)));
}

ApiReply GetOne(const std::map<int64_t, Struct>& table, absl::string_view kind, int64_t id) {
  const auto it = table.find(id);
  if (it == table.end()) return NotFound(kind, id);
  return Reply(200, ObjectValue(it->second));
}

std::string HaloNow() { return absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::Now(), absl::UTCTimeZone()); }

void DeriveText(Struct& record, const Struct& input, const std::string& text_key, const std::string& html_key) {
  const Value* html = Field(input, html_key);
  if (html == nullptr) html = Field(input, text_key);
  if (html == nullptr) return;
  const std::string source = html->string_value();
  Set(record, html_key, JsonString(source));
  Set(record, text_key, JsonString(HtmlToText(source)));
}

DateWindow DateWindow::OfTickets(const QueryReader& query) {
  DateWindow window;
  const std::string column = absl::AsciiStrToLower(query.Get("datesearch").value_or(""));
  if (column == "lastupdate") window.column_ = "last_update";
  if (column == "dateoccured" || column == "dateoccurred") window.column_ = "dateoccurred";
  if (column == "datecleared") window.column_ = "datecleared";
  window.start_ = query.Get("startdate");
  window.end_ = query.Get("enddate");
  return window;
}

DateWindow DateWindow::OfActions(const QueryReader& query) {
  DateWindow window;
  window.column_ = "datetime";
  window.start_ = query.Get("startdate");
  window.end_ = query.Get("enddate");
  return window;
}

bool DateWindow::Contains(const Struct& record) const {
  if (column_.empty() || (!start_ && !end_)) return true;
  const Value* date = Field(record, column_);
  if (date == nullptr || !date->has_string_value()) return false;
  const std::string& at = date->string_value();
  return (!start_ || at >= *start_) && (!end_ || at <= *end_);
}

}  // namespace halopsa::sim
