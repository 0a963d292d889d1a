#include "adapters/net/url.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace halopsa::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct GoodUrl {
  std::string input;
  std::string scheme;
  std::string host;
  uint16_t port;
  std::string target;
};

TEST(ParseUrlTest, AcceptsHttpAndHttpsUrls) {
  const GoodUrl cases[] = {
      {"https://acme.halopsa.com/api/Tickets", "https", "acme.halopsa.com", 443, "/api/Tickets"},
      {"http://example.com", "http", "example.com", 80, "/"},
      {"HTTPS://Example.COM:8443/a?b=c", "https", "example.com", 8443, "/a?b=c"},
      {"https://h?x=1", "https", "h", 443, "/?x=1"},
      {"https://h/p#frag", "https", "h", 443, "/p"},
      {"https://h:/p", "https", "h", 443, "/p"},
      {"https://127.0.0.1:1/", "https", "127.0.0.1", 1, "/"},
      {"https://[::1]:65535/x", "https", "::1", 65535, "/x"},
      {"https://[2001:DB8::1]", "https", "2001:db8::1", 443, "/"},
      {"https://a-b_c.d/%20x?q=%2F", "https", "a-b_c.d", 443, "/%20x?q=%2F"},
  };
  for (const GoodUrl& c : cases) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Url> url = ParseUrl(c.input);
    ASSERT_TRUE(url.ok()) << url.status();
    EXPECT_EQ(url->scheme, c.scheme);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->target, c.target);
  }
}

TEST(ParseUrlTest, RejectsUnusableUrls) {
  const std::string cases[] = {
      "",
      "example.com/path",
      "ftp://example.com/",
      "https://",
      "https:///path",
      "https://:443/",
      "https://host:0/",
      "https://host:65536/",
      "https://host:12a/",
      "https://host:-1/",
      "https://[::1/",
      "https://[::1]x/",
      "https://[not-ip]/",
      "https://ho st/",
      "https://host\r\nX-Injected: 1/",
      "https://host/a b",
      "https://host/a\nb",
      "https://h%41st/",
  };
  for (const std::string& input : cases) {
    SCOPED_TRACE(input);
    EXPECT_EQ(ParseUrl(input).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseUrlTest, RejectsUserinfoWithoutEchoingIt) {
  for (const char* input :
       {"https://user:s3cret@host/", "https://s3cret@host/", "https://host@evil.example/"}) {
    SCOPED_TRACE(input);
    absl::Status status = ParseUrl(input).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("credentials"));
    EXPECT_THAT(status.message(), Not(HasSubstr("s3cret")));
    EXPECT_THAT(status.message(), Not(HasSubstr("host")));
  }
}

TEST(HostPortTest, BracketsIpv6) {
  EXPECT_EQ(HostPort("example.com", 443), "example.com:443");
  EXPECT_EQ(HostPort("127.0.0.1", 8080), "127.0.0.1:8080");
  EXPECT_EQ(HostPort("::1", 443), "[::1]:443");
}

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"AZaz09-._~", "AZaz09-._~"},
      {"a b", "a%20b"},
      {"a+b=c&d", "a%2Bb%3Dc%26d"},
      {"/?#[]@!$'()*,;:", "%2F%3F%23%5B%5D%40%21%24%27%28%29%2A%2C%3B%3A"},
      {"100%", "100%25"},
      {"é", "%C3%A9"},
      {std::string("\0\n\x7f", 3), "%00%0A%7F"},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(PercentEncode(input), expected) << input;
  }
}

TEST(FormEncodeTest, JoinsEncodedPairs) {
  EXPECT_EQ(FormEncode({}), "");
  EXPECT_EQ(FormEncode({{"grant_type", "client_credentials"}}), "grant_type=client_credentials");
  EXPECT_EQ(FormEncode({{"client_id", "a b"}, {"scope", "all:standard"}, {"k&", "=v"}}),
            "client_id=a%20b&scope=all%3Astandard&k%26=%3Dv");
  EXPECT_EQ(FormEncode({{"empty", ""}}), "empty=");
}

TEST(AppendQueryTest, AddsSeparatorCorrectly) {
  const HeaderList params = {{"a", "1"}, {"b", "x y"}};
  const std::pair<std::string, std::string> cases[] = {
      {"https://h/p", "https://h/p?a=1&b=x%20y"},
      {"https://h/p?z=0", "https://h/p?z=0&a=1&b=x%20y"},
      {"https://h/p?", "https://h/p?a=1&b=x%20y"},
      {"https://h/p?z=0&", "https://h/p?z=0&a=1&b=x%20y"},
      {"/api/Tickets", "/api/Tickets?a=1&b=x%20y"},
      {"https://h/p#frag", "https://h/p?a=1&b=x%20y#frag"},
      {"https://h/p?z=0#f?g", "https://h/p?z=0&a=1&b=x%20y#f?g"},
      {"", "?a=1&b=x%20y"},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(AppendQuery(input, params), expected) << input;
  }
}

TEST(AppendQueryTest, EmptyParamsLeaveInputUnchanged) {
  EXPECT_EQ(AppendQuery("https://h/p?", {}), "https://h/p?");
  EXPECT_EQ(AppendQuery("/x#y", {}), "/x#y");
}

TEST(IsPrivateAddressTest, ClassifiesAddresses) {
  const std::pair<std::string, bool> cases[] = {
      // IPv4 loopback, private, CGNAT, link-local, unspecified.
      {"127.0.0.1", true},
      {"127.255.255.254", true},
      {"10.0.0.1", true},
      {"10.255.255.255", true},
      {"172.16.0.1", true},
      {"172.31.255.255", true},
      {"192.168.1.1", true},
      {"100.64.0.1", true},
      {"100.127.255.255", true},
      {"169.254.169.254", true},
      {"169.254.0.1", true},
      {"0.0.0.0", true},
      {"0.1.2.3", true},
      // Public IPv4, including neighbours of the private ranges.
      {"8.8.8.8", false},
      {"1.1.1.1", false},
      {"9.255.255.255", false},
      {"11.0.0.0", false},
      {"172.15.255.255", false},
      {"172.32.0.0", false},
      {"192.167.255.255", false},
      {"192.169.0.0", false},
      {"100.63.255.255", false},
      {"100.128.0.0", false},
      {"169.253.255.255", false},
      {"169.255.0.0", false},
      {"126.255.255.255", false},
      {"128.0.0.0", false},
      // IPv6.
      {"::1", true},
      {"::", true},
      {"fc00::1", true},
      {"fd12:3456::1", true},
      {"fe80::1", true},
      {"fe80::1%eth0", true},
      {"febf::1", true},
      {"fec0::1", false},
      {"fb00::1", false},
      {"2001:4860:4860::8888", false},
      {"2606:4700::1111", false},
      {"::2", true},  // ::0.0.0.2, "this network"
      {"ff02::1", true},
      {"64:ff9b:1::a00:1", true},        // NAT64 local use
      {"2001:0:4136:e378::1", true},     // Teredo hides its IPv4
      // IPv4-mapped forms follow the IPv4 address.
      {"::ffff:127.0.0.1", true},
      {"::ffff:10.1.2.3", true},
      {"::ffff:169.254.169.254", true},
      {"::ffff:7f00:1", true},
      {"::ffff:8.8.8.8", false},
      // The probe's IPv4-embedded forms follow the IPv4 address they carry.
      {"::127.0.0.1", true},
      {"::10.0.0.1", true},
      {"::8.8.8.8", false},
      {"::ffff:0:169.254.169.254", true},
      {"64:ff9b::127.0.0.1", true},
      {"64:ff9b::a9fe:a9fe", true},
      {"64:ff9b::8.8.8.8", false},
      {"2002:7f00:1::", true},
      {"2002:a9fe:a9fe::1", true},
      {"2002:808:808::1", false},
      {"224.0.0.1", true},
      {"255.255.255.255", true},
      // Not an IP literal: fail closed.
      {"", true},
      {"localhost", true},
      {"example.com", true},
      {"127.1", true},
      {"1.2.3.4.5", true},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(IsPrivateAddress(input), expected) << input;
  }
}

TEST(UpstreamAllowanceTest, AllowsListedHostsAndRangesOnly) {
  absl::StatusOr<UpstreamAllowance> allowance =
      UpstreamAllowance::Parse(" halo.corp.example, 10.20.0.0/16 ,fd00:1::/64,192.168.7.9");
  ASSERT_TRUE(allowance.ok()) << allowance.status();
  EXPECT_TRUE(allowance->AllowsHost("halo.corp.example"));
  EXPECT_FALSE(allowance->AllowsHost("other.corp.example"));
  EXPECT_TRUE(allowance->AllowsAddress("10.20.3.4"));
  EXPECT_FALSE(allowance->AllowsAddress("10.21.0.1"));
  EXPECT_TRUE(allowance->AllowsAddress("::ffff:10.20.0.9"));  // by the IPv4 it carries
  EXPECT_TRUE(allowance->AllowsAddress("192.168.7.9"));
  EXPECT_FALSE(allowance->AllowsAddress("192.168.7.10"));
  EXPECT_TRUE(allowance->AllowsAddress("fd00:1::5"));
  EXPECT_FALSE(allowance->AllowsAddress("fd00:2::5"));
  EXPECT_FALSE(allowance->AllowsAddress("169.254.169.254"));
  EXPECT_FALSE(allowance->AllowsAddress("not an ip"));
}

TEST(UpstreamAllowanceTest, EmptyAllowsNothingAndBadEntriesAreNamed) {
  absl::StatusOr<UpstreamAllowance> empty = UpstreamAllowance::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(empty->AllowsAddress("10.0.0.1"));
  for (const char* bad : {"10.0.0.0/33", "fd00::/129", "host name", "a/b", "10.0.0.0/x"}) {
    absl::StatusOr<UpstreamAllowance> parsed = UpstreamAllowance::Parse(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace halopsa::net
