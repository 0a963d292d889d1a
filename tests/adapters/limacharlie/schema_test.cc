#include "adapters/limacharlie/schema.h"

#include <google/protobuf/descriptor.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>
#include <string>

#include "adapters/limacharlie/actions.h"
#include "adapters/limacharlie/deferral.h"
#include "halopsa/v1/halopsa.pb.h"
#include "tests/testing/lc_test_client.h"

namespace halopsa::lc {
namespace {

using testing::Json;

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.Parse(SchemaJson().c_str());
    ASSERT_FALSE(schema_.HasParseError());
    ASSERT_TRUE(schema_.IsObject());
  }

  const rapidjson::Value& Parameters(absl::string_view action) {
    return schema_["request_schema"][std::string(action).c_str()]["parameters"];
  }

  const rapidjson::Value& Parameter(absl::string_view action, absl::string_view field) {
    return Parameters(action)["fields"][std::string(field).c_str()];
  }

  const rapidjson::Value& Response(absl::string_view action) {
    return schema_["request_schema"][std::string(action).c_str()]["response"];
  }

  const rapidjson::Value& ResponseField(absl::string_view action, absl::string_view field) {
    return Response(action)["fields"][std::string(field).c_str()];
  }

  // The response's member names, in display order.
  rapidjson::Value ResponseFieldNames(absl::string_view action) {
    rapidjson::Value names(rapidjson::kArrayType);
    for (const auto& field : Response(action)["fields"].GetObject()) {
      names.PushBack(rapidjson::Value(field.name, schema_.GetAllocator()), schema_.GetAllocator());
    }
    return names;
  }

  rapidjson::Document schema_;
};

TEST_F(SchemaTest, TopLevelShape) {
  EXPECT_TRUE(schema_["config_schema"].IsObject());
  EXPECT_TRUE(schema_["request_schema"].IsObject());
  EXPECT_EQ(Json(schema_["required_events"]), "[]");
  EXPECT_EQ(Json(schema_["views"]), "[]");
}

TEST_F(SchemaTest, ConfigSchemaHasTheProductPageFields) {
  const rapidjson::Value& config = schema_["config_schema"];
  const rapidjson::Value& fields = config["fields"];
  EXPECT_EQ(fields.MemberCount(), 11u);
  EXPECT_STREQ(fields["case_label"]["default_value"].GetString(), "LimaCharlie");
  EXPECT_STREQ(fields["case_status_map"]["default_value"].GetString(), "1:new,9:closed");
  EXPECT_STREQ(fields["instance_url"]["data_type"].GetString(), "url");
  EXPECT_STREQ(fields["client_id"]["data_type"].GetString(), "string");
  EXPECT_STREQ(fields["client_secret"]["data_type"].GetString(), "secret");
  EXPECT_STREQ(fields["tenant"]["data_type"].GetString(), "string");
  EXPECT_STREQ(fields["scope"]["data_type"].GetString(), "string");
  EXPECT_STREQ(fields["scope"]["default_value"].GetString(), "all");
  EXPECT_FALSE(fields["tenant"].HasMember("default_value"));
  EXPECT_STREQ(fields["auth_url"]["data_type"].GetString(), "url");
  EXPECT_STREQ(fields["default_outcome_id"]["data_type"].GetString(), "integer");
  EXPECT_EQ(Json(fields["idempotency_marker"]["enum_values"]), R"(["on","off"])");
  EXPECT_STREQ(fields["idempotency_marker"]["default_value"].GetString(), "on");
  // Set-up as LimaCharlie documents it: an Agent login and least-privilege scopes.
  EXPECT_THAT(fields["client_id"]["description"].GetString(), ::testing::HasSubstr("Login Type Agent"));
  EXPECT_THAT(fields["scope"]["description"].GetString(),
              ::testing::HasSubstr("edit:tickets edit:assets read:customers"));
  EXPECT_THAT(fields["scope"]["description"].GetString(), ::testing::HasSubstr("invalid_scope"));
  EXPECT_EQ(Json(config["requirements"]), R"([["instance_url"],["client_id"],["client_secret"]])");
  for (const auto& field : fields.GetObject()) {
    EXPECT_GT(field.value["label"].GetStringLength(), 0u) << field.name.GetString();
    EXPECT_GT(field.value["description"].GetStringLength(), 0u) << field.name.GetString();
  }
}

TEST_F(SchemaTest, EveryServiceMethodIsAnAction) {
  const google::protobuf::ServiceDescriptor* service =
      v1::CreateTicketRequest::descriptor()->file()->FindServiceByName("HaloPsaService");
  ASSERT_NE(service, nullptr);
  std::set<std::string> methods;
  for (const ActionSpec& action : Actions()) methods.insert(MethodOf(action).name());
  EXPECT_EQ(static_cast<int>(methods.size()), service->method_count());
  // And the hidden action continuations call.
  EXPECT_EQ(schema_["request_schema"].MemberCount(), Actions().size() + 1);
}

TEST_F(SchemaTest, EveryRequestFieldIsDescribedAndNothingElse) {
  for (const ActionSpec& action : Actions()) {
    const google::protobuf::Descriptor& type = *MethodOf(action).input_type();
    const rapidjson::Value& fields = Parameters(action.name)["fields"];
    EXPECT_EQ(static_cast<int>(fields.MemberCount()), type.field_count()) << action.name;
    for (int i = 0; i < type.field_count(); ++i) {
      const std::string& name = type.field(i)->name();
      ASSERT_TRUE(fields.HasMember(name.c_str())) << action.name << "." << name;
      const FieldDoc* doc = FindFieldDoc(action, name);
      ASSERT_NE(doc, nullptr) << action.name << "." << name << " has no label or description";
      EXPECT_STREQ(fields[name.c_str()]["label"].GetString(), std::string(doc->label).c_str());
      EXPECT_GT(fields[name.c_str()]["description"].GetStringLength(), 0u);
    }
    for (const FieldDoc& doc : action.fields) {
      EXPECT_NE(type.FindFieldByName(std::string(doc.name)), nullptr) << action.name << " documents " << doc.name;
    }
  }
}

TEST_F(SchemaTest, RequestSchemaMembers) {
  for (const ActionSpec& action : Actions()) {
    const rapidjson::Value& schema = schema_["request_schema"][std::string(action.name).c_str()];
    EXPECT_GT(schema["label"].GetStringLength(), 0u);
    EXPECT_TRUE(schema["is_user_facing"].GetBool());
    EXPECT_FALSE(schema["is_impersonated"].GetBool());
    EXPECT_GT(schema["short_description"].GetStringLength(), 0u);
    EXPECT_GT(schema["long_description"].GetStringLength(), 0u);
    EXPECT_TRUE(schema["response"].IsObject()) << action.name;
  }
}

// The product page's return shapes, members typed by the response messages.
TEST_F(SchemaTest, EveryActionPublishesItsResponse) {
  EXPECT_EQ(Json(ResponseFieldNames("create_ticket")), R"(["id","deduplicated","deferred","retry_in_sec"])");
  EXPECT_EQ(Json(ResponseFieldNames("update_ticket")), R"(["id","deferred","retry_in_sec"])");
  EXPECT_EQ(Json(ResponseFieldNames("search_tickets")), R"(["record_count","tickets"])");
  EXPECT_EQ(Json(ResponseFieldNames("add_action")), R"(["id","ticket_id","deferred","retry_in_sec"])");
  EXPECT_EQ(Json(ResponseFieldNames("link_asset_to_ticket")),
            R"(["asset_id","asset_created","asset","ticket","deferred","retry_in_sec"])");
  EXPECT_EQ(Json(ResponseFieldNames("lookup_client_site")), R"(["record_count","clients","sites"])");
  EXPECT_EQ(Json(ResponseFieldNames("mirror_case")),
            R"(["ticket_id","created","updated_fields","deferred","retry_in_sec"])");
  EXPECT_EQ(Json(ResponseFieldNames("pull_ticket_changes")), R"(["changes","watermark","cursor"])");
  EXPECT_STREQ(ResponseField("mirror_case", "updated_fields")["data_type"].GetString(), "string");
  EXPECT_TRUE(ResponseField("mirror_case", "updated_fields")["is_list"].GetBool());
  EXPECT_STREQ(ResponseField("pull_ticket_changes", "changes")["data_type"].GetString(), "json");
  EXPECT_STREQ(ResponseField("create_ticket", "id")["data_type"].GetString(), "integer");
  EXPECT_STREQ(ResponseField("search_tickets", "tickets")["data_type"].GetString(), "json");
  EXPECT_TRUE(ResponseField("search_tickets", "tickets")["is_list"].GetBool());
  EXPECT_STREQ(ResponseField("link_asset_to_ticket", "asset_created")["data_type"].GetString(), "bool");
  EXPECT_STREQ(ResponseField("link_asset_to_ticket", "asset")["data_type"].GetString(), "json");
  EXPECT_FALSE(ResponseField("link_asset_to_ticket", "asset").HasMember("is_list"));
  EXPECT_TRUE(ResponseField("lookup_client_site", "sites")["is_list"].GetBool());
  EXPECT_STREQ(ResponseField("create_ticket", "deferred")["data_type"].GetString(), "bool");
  EXPECT_STREQ(ResponseField("create_ticket", "retry_in_sec")["data_type"].GetString(), "integer");
  for (const ActionSpec& action : Actions()) {
    for (const auto& field : Response(action.name)["fields"].GetObject()) {
      EXPECT_GT(field.value["label"].GetStringLength(), 0u) << action.name << "." << field.name.GetString();
      EXPECT_GT(field.value["description"].GetStringLength(), 0u) << action.name << "." << field.name.GetString();
    }
  }
}

// What the answer's data can hold is documented from the response message:
// a new response field without words in the action table fails here.
TEST_F(SchemaTest, EveryAnswerMemberIsAResponseFieldAndEveryResponseFieldIsDocumented) {
  for (const ActionSpec& action : Actions()) {
    const google::protobuf::Descriptor& type = *MethodOf(action).output_type();
    for (const FieldDoc& doc : action.response_fields) {
      EXPECT_NE(type.FindFieldByName(std::string(doc.name)), nullptr) << action.name << " answers " << doc.name;
    }
    for (int i = 0; i < type.field_count(); ++i) {
      const google::protobuf::FieldDescriptor& field = *type.field(i);
      // kObject: the object's own members are HaloPSA's; the scalar fields are set in it.
      if (action.result == ResultShape::kObject && field.name() == action.result_object) continue;
      EXPECT_TRUE(Response(action.name)["fields"].HasMember(field.name().c_str()))
          << action.name << "'s answer has " << field.name() << ", its response schema does not";
    }
  }
}

// Exactly one member of a group is set: a write answers its result or a
// deferral (a create's result says whether it was deduplicated); a lookup
// lists clients or sites.
TEST_F(SchemaTest, ResponseRequirementsSayWhatEveryAnswerCarries) {
  EXPECT_EQ(Json(Response("create_ticket")["requirements"]), R"([["id","deferred"],["deduplicated","deferred"]])");
  EXPECT_EQ(Json(Response("update_ticket")["requirements"]), R"([["id","deferred"]])");
  EXPECT_EQ(Json(Response("add_action")["requirements"]), R"([["id","deferred"]])");
  EXPECT_EQ(Json(Response("link_asset_to_ticket")["requirements"]), R"([["asset_id","deferred"]])");
  EXPECT_EQ(Json(Response("search_tickets")["requirements"]), R"([["record_count"]])");
  EXPECT_EQ(Json(Response("lookup_client_site")["requirements"]), R"([["record_count"],["clients","sites"]])");
  EXPECT_EQ(Json(Response("mirror_case")["requirements"]), R"([["ticket_id","deferred"]])");
  EXPECT_EQ(Json(Response("pull_ticket_changes")["requirements"]), R"([["changes"]])");
}

TEST_F(SchemaTest, WritesTellUsersWhatADeferredAnswerMeans) {
  for (const ActionSpec& action : Actions()) {
    const std::string description =
        schema_["request_schema"][std::string(action.name).c_str()]["long_description"].GetString();
    EXPECT_EQ(description.find("retry_in_sec") != std::string::npos, action.writes) << action.name;
  }
  EXPECT_THAT(ResponseField("add_action", "deferred")["description"].GetString(),
              ::testing::HasSubstr("has not run yet"));
}

TEST_F(SchemaTest, TheDeferredActionIsHiddenAndTakesTheContinuationState) {
  const rapidjson::Value& schema = schema_["request_schema"][std::string(kDeferredAction).c_str()];
  EXPECT_FALSE(schema["is_user_facing"].GetBool());
  EXPECT_FALSE(schema["is_impersonated"].GetBool());
  EXPECT_GT(schema["long_description"].GetStringLength(), 0u);
  const rapidjson::Value& fields = Parameters(kDeferredAction)["fields"];
  EXPECT_EQ(fields.MemberCount(), 3u);
  EXPECT_STREQ(fields["action"]["data_type"].GetString(), "enum");
  EXPECT_EQ(Json(fields["action"]["enum_values"]),
            R"(["create_ticket","update_ticket","add_action","link_asset_to_ticket","mirror_case"])");
  EXPECT_STREQ(fields["data"]["data_type"].GetString(), "json");
  EXPECT_STREQ(fields["idempotency_key"]["data_type"].GetString(), "string");
  EXPECT_EQ(Json(Parameters(kDeferredAction)["requirements"]), R"([["action"],["data"],["idempotency_key"]])");
  // It answers what the deferred action answers, or defers again.
  EXPECT_EQ(Json(ResponseFieldNames(kDeferredAction)),
            R"(["deferred","retry_in_sec","id","deduplicated","ticket_id","asset_id","asset_created","asset","ticket","created","updated_fields"])");
}

// LimaCharlie checks a continuation's state against the published schema and
// refuses extra fields.
TEST_F(SchemaTest, AContinuationsStatePassesThePublishedSchema) {
  net::ServerResponse deferred =
      DeferredResponse({"link_asset_to_ticket", R"({"ticket_id":7,"hostname":"h"})", "key-1"}, 30);
  rapidjson::Document reply;
  reply.Parse(deferred.body.c_str());
  ASSERT_TRUE(reply.IsObject()) << deferred.body;
  const rapidjson::Value& continuation = reply["continuations"][0];
  ASSERT_TRUE(schema_["request_schema"].HasMember(continuation["action"]));
  const rapidjson::Value& parameters = Parameters(continuation["action"].GetString());
  const rapidjson::Value& state = continuation["state"];
  for (const auto& member : state.GetObject()) {
    ASSERT_TRUE(parameters["fields"].HasMember(member.name)) << member.name.GetString();
    const rapidjson::Value& field = parameters["fields"][member.name];
    const std::string type = field["data_type"].GetString();
    if (type == "json") {
      EXPECT_TRUE(member.value.IsObject()) << member.name.GetString();
    }
    if (type == "string") {
      EXPECT_TRUE(member.value.IsString()) << member.name.GetString();
    }
    if (type == "enum") {
      std::set<std::string> values;
      for (const auto& value : field["enum_values"].GetArray()) values.insert(value.GetString());
      EXPECT_TRUE(values.contains(member.value.GetString())) << member.value.GetString();
    }
  }
  for (const auto& group : parameters["requirements"].GetArray()) {
    int set = 0;
    for (const auto& name : group.GetArray()) set += state.HasMember(name) ? 1 : 0;
    EXPECT_EQ(set, 1) << Json(group);
  }
}

TEST_F(SchemaTest, DataTypesFollowTheProto) {
  EXPECT_STREQ(Parameter("create_ticket", "summary")["data_type"].GetString(), "string");
  EXPECT_STREQ(Parameter("create_ticket", "client_id")["data_type"].GetString(), "integer");
  EXPECT_STREQ(Parameter("create_ticket", "asset_ids")["data_type"].GetString(), "integer");
  EXPECT_TRUE(Parameter("create_ticket", "asset_ids")["is_list"].GetBool());
  EXPECT_STREQ(Parameter("create_ticket", "customfields")["data_type"].GetString(), "json");
  EXPECT_TRUE(Parameter("create_ticket", "customfields")["is_list"].GetBool());
  EXPECT_STREQ(Parameter("create_ticket", "extra")["data_type"].GetString(), "json");
  EXPECT_FALSE(Parameter("create_ticket", "extra").HasMember("is_list"));
  EXPECT_STREQ(Parameter("search_tickets", "orderdesc")["data_type"].GetString(), "bool");
  EXPECT_STREQ(Parameter("lookup_client_site", "type")["data_type"].GetString(), "enum");
  EXPECT_EQ(Json(Parameter("lookup_client_site", "type")["enum_values"]), R"(["client","site"])");
}

TEST_F(SchemaTest, DefaultsWhereTheProductPageStatesThem) {
  EXPECT_EQ(Json(Parameter("search_tickets", "page_size")["default_value"]), "50");
  EXPECT_EQ(Json(Parameter("search_tickets", "page_no")["default_value"]), "1");
  EXPECT_EQ(Json(Parameter("lookup_client_site", "page_size")["default_value"]), "50");
  EXPECT_EQ(Json(Parameter("lookup_client_site", "page_no")["default_value"]), "1");
  EXPECT_EQ(Json(Parameter("add_action", "hiddenfromuser")["default_value"]), "true");
  // Not "Note": a default filled in by LimaCharlie would hide the org's default_outcome setting.
  EXPECT_FALSE(Parameter("add_action", "outcome").HasMember("default_value"));
  EXPECT_EQ(Json(Parameter("link_asset_to_ticket", "create_if_missing")["default_value"]), "true");
  EXPECT_FALSE(Parameter("create_ticket", "summary").HasMember("default_value"));
}

TEST_F(SchemaTest, RequirementsListTheRequiredFields) {
  EXPECT_EQ(Json(Parameters("create_ticket")["requirements"]), R"([["summary"]])");
  EXPECT_EQ(Json(Parameters("update_ticket")["requirements"]), R"([["id"]])");
  EXPECT_EQ(Json(Parameters("search_tickets")["requirements"]), "[]");
  EXPECT_EQ(Json(Parameters("add_action")["requirements"]), R"([["ticket_id"],["note"]])");
  EXPECT_EQ(Json(Parameters("link_asset_to_ticket")["requirements"]), R"([["ticket_id"],["hostname"]])");
  EXPECT_EQ(Json(Parameters("lookup_client_site")["requirements"]), R"([["type"]])");
}

TEST_F(SchemaTest, DisplayIndexFollowsTheProtoOrder) {
  EXPECT_EQ(Parameter("create_ticket", "summary")["display_index"].GetInt(), 1);
  EXPECT_EQ(Parameter("create_ticket", "extra")["display_index"].GetInt(), 17);
}

TEST(ActionsTest, FindAction) {
  ASSERT_NE(FindAction("add_action"), nullptr);
  EXPECT_EQ(FindAction("add_action")->method, "AddAction");
  EXPECT_EQ(FindAction("AddAction"), nullptr);
  EXPECT_EQ(FindAction("nope"), nullptr);
}

}  // namespace
}  // namespace halopsa::lc
