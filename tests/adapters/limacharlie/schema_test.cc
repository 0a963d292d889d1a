#include "adapters/limacharlie/schema.h"

#include <google/protobuf/descriptor.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>
#include <string>

#include "adapters/limacharlie/actions.h"
#include "halopsa/v1/halopsa.pb.h"
#include "tests/adapters/limacharlie/lc_test_client.h"

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
  EXPECT_EQ(fields.MemberCount(), 9u);
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
  EXPECT_EQ(schema_["request_schema"].MemberCount(), Actions().size());
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
    EXPECT_TRUE(schema["response"].IsNull());
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
