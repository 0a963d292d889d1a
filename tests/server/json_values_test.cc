#include "server/json_values.h"

#include <string>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "server/json_values_dom.h"

namespace halopsa {
namespace {

using ::testing::HasSubstr;

TEST(JsonValuesTest, ParsesEveryKindAndPrintsItBack) {
  absl::StatusOr<google::protobuf::Value> value =
      ParseJson(R"({"id": 12, "ratio": 0.25, "ok": true, "none": null, "name": "Ünïcode \"q\"", "list": [1, "a", []]})");
  ASSERT_TRUE(value.ok()) << value.status();
  const auto& fields = value->struct_value().fields();
  EXPECT_EQ(fields.at("id").number_value(), 12);
  EXPECT_EQ(fields.at("ratio").number_value(), 0.25);
  EXPECT_TRUE(fields.at("ok").bool_value());
  EXPECT_EQ(fields.at("none").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(fields.at("name").string_value(), "Ünïcode \"q\"");
  EXPECT_EQ(fields.at("list").list_value().values_size(), 3);

  absl::StatusOr<google::protobuf::Value> again = ParseJson(ToJson(*value));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*again, *value)) << ToJson(*again);
}

TEST(JsonValuesTest, WholeNumbersPrintWithoutFraction) {
  EXPECT_EQ(ToJson(JsonNumber(2884)), "2884");
  EXPECT_EQ(ToJson(JsonNumber(-3)), "-3");
  EXPECT_EQ(ToJson(JsonNumber(0.5)), "0.5");
  EXPECT_EQ(ToJson(JsonNumber(1e300)), "1e300");
  EXPECT_EQ(ToJson(JsonNumber(std::nan(""))), "null");
  EXPECT_EQ(ToJson(JsonString("a\nb")), R"("a\nb")");
}

TEST(JsonValuesTest, ObjectKeysPrintSorted) {
  EXPECT_EQ(ToJson(*ParseJson(R"({"b": 1, "a": {"z": 2, "y": 3}, "c": [{"e": 1, "d": 2}]})")),
            R"({"a":{"y":3,"z":2},"b":1,"c":[{"d":2,"e":1}]})");
}

TEST(JsonValuesTest, AcceptsScalarRoots) {
  absl::StatusOr<google::protobuf::Value> text = ParseJson(R"("CODE:APP03/2 Please select a Client")");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->string_value(), "CODE:APP03/2 Please select a Client");
  EXPECT_EQ(ParseJson("42")->number_value(), 42);
}

TEST(JsonValuesTest, RefusesMalformedInputWithoutEchoingIt) {
  for (const char* bad : {"", "{", R"({"a": 1} trailing)", "[1,]", "{'single': 1}", "\"\xff\xfe\"",
                          R"("\udc00")", R"({"\ud800": 1})"}) {
    absl::StatusOr<google::protobuf::Value> value = ParseJson(bad);
    EXPECT_EQ(value.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::Status status = ParseJson(R"({"secret": "s3cr3t", oops})").status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("offset"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("s3cr3t")));
}

TEST(JsonValuesTest, RefusesNumbersBeyondTheRangeOfADouble) {
  for (const char* bad : {"[2.5e309]", "[-1e400]", R"({"n": 1e999})"}) {
    EXPECT_EQ(ParseJson(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseJson("[1.7e308]")->list_value().values(0).number_value(), 1.7e308);
}

TEST(JsonValuesTest, AcceptsPairedSurrogateEscapes) {
  EXPECT_EQ(ParseJson(R"("\ud83d\ude00")")->string_value(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(ParseJson(R"("\ud7ff")")->string_value(), "\xED\x9F\xBF");
}

TEST(JsonValuesTest, ValueFromDomFollowsParseJson) {
  rapidjson::Document dom;
  dom.Parse(R"({"b": [true, null, 2.5, "x"], "a": {"n": 3}})");
  absl::StatusOr<google::protobuf::Value> value = ValueFromDom(dom);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(ToJson(*value), R"({"a":{"n":3},"b":[true,null,2.5,"x"]})");

  dom.Parse(R"({"k": "\udfff"})");  // RapidJSON lets a lone low surrogate through
  ASSERT_FALSE(dom.HasParseError());
  EXPECT_THAT(std::string(ValueFromDom(dom).status().message()), HasSubstr("unpaired surrogate"));
}

TEST(JsonValuesTest, BoundsNesting) {
  std::string deep_ok(kMaxJsonDepth, '[');
  deep_ok += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(deep_ok).ok());
  std::string too_deep(kMaxJsonDepth + 1, '[');
  too_deep += std::string(kMaxJsonDepth + 1, ']');
  absl::Status status = ParseJson(too_deep).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("nested deeper"));
}

TEST(JsonLimitCounterTest, NamesTheFirstLimitCrossed) {
  const JsonLimits limits = {.max_depth = 2, .max_nodes = 3, .max_bytes = 10};
  JsonLimitCounter counter(limits);
  EXPECT_FALSE(counter.CheckBytes(10).has_value());
  EXPECT_EQ(counter.CheckBytes(11)->limit, "max_request_bytes");
  EXPECT_FALSE(counter.Count(1).has_value());
  EXPECT_FALSE(counter.Count(2).has_value());
  std::optional<JsonLimitExceeded> deep = counter.Count(3);
  ASSERT_TRUE(deep.has_value());
  EXPECT_EQ(deep->limit, "max_json_depth");
  EXPECT_EQ(deep->value, 2u);
  EXPECT_FALSE(counter.Count(2).has_value());
  std::optional<JsonLimitExceeded> many = counter.Count(2);
  ASSERT_TRUE(many.has_value());
  EXPECT_EQ(many->limit, "max_json_nodes");
  EXPECT_EQ(many->value, 3u);
}

TEST(JsonValuesTest, IntFieldReadsWholeNumbersAndNumericStrings) {
  google::protobuf::Struct object = ParseJson(R"({"a": 7, "b": "8", "c": 1.5, "d": "x", "e": 1e12})")->struct_value();
  EXPECT_EQ(IntField(object, "a"), 7);
  EXPECT_EQ(IntField(object, "b"), 8);
  EXPECT_EQ(IntField(object, "c"), std::nullopt);
  EXPECT_EQ(IntField(object, "d"), std::nullopt);
  EXPECT_EQ(IntField(object, "e"), std::nullopt);  // beyond int32
  EXPECT_EQ(IntField(object, "missing"), std::nullopt);
}

}  // namespace
}  // namespace halopsa
