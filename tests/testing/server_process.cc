#include "tests/testing/server_process.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/testing/test_http_client.h"

namespace halopsa::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

// The integer after `"name":` in a JSON log line, or 0.
int IntMember(absl::string_view line, absl::string_view name) {
  const std::string key = absl::StrCat("\"", name, "\":");
  size_t at = line.find(key);
  if (at == absl::string_view::npos) return 0;
  absl::string_view rest = line.substr(at + key.size());
  size_t digits = 0;
  while (digits < rest.size() && absl::ascii_isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
  int value = 0;
  return absl::SimpleAtoi(rest.substr(0, digits), &value) ? value : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(ServerProcessOptions options) {
  std::vector<std::string> args = {"--grpc_listen=127.0.0.1:0", "--grpc_plaintext", "--admin_listen=127.0.0.1:0",
                                   options.gateway ? "--gateway_listen=127.0.0.1:0" : "--gateway_listen="};
  args.insert(args.end(), options.args.begin(), options.args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(options.binary, args, options.env, options.log_path);
  if (!child.ok()) return child.status();
  std::unique_ptr<ServerProcess> server(new ServerProcess(*std::move(child)));
  const absl::Time deadline = absl::Now() + options.start_timeout;
  if (absl::Status status = server->ReadPorts(options.start_timeout); !status.ok()) return status;
  if (absl::Status status = server->WaitUntilReady(deadline); !status.ok()) return status;
  return server;
}

absl::Status ServerProcess::ReadPorts(absl::Duration timeout) {
  absl::StatusOr<std::string> started = process_->WaitForMatchingLine(
      [](absl::string_view line) { return absl::StrContains(line, "\"msg\":\"started\""); }, timeout);
  if (!started.ok()) {
    return absl::Status(started.status().code(), absl::StrCat("halopsa-server: ", started.status().message()));
  }
  grpc_port_ = IntMember(*started, "grpc_port");
  gateway_port_ = IntMember(*started, "gateway_port");
  admin_port_ = IntMember(*started, "admin_port");
  if (grpc_port_ == 0 || admin_port_ == 0) {
    return absl::InternalError(absl::StrCat("no ports in halopsa-server's start-up line: ", *started));
  }
  return absl::OkStatus();
}

absl::Status ServerProcess::WaitUntilReady(absl::Time deadline) const {
  while (true) {
    absl::StatusOr<int> status = ReadyzStatus();
    if (status.ok() && *status == 200) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::UnavailableError(absl::StrCat("halopsa-server did not become ready, see ", log_path()));
    }
    absl::SleepFor(kPollInterval);  // polling another process
  }
}

std::optional<int> ServerProcess::ExitCode() const {
  absl::StatusOr<int> code = process_->WaitForExit(absl::ZeroDuration());
  return code.ok() ? std::optional<int>(*code) : std::nullopt;
}

absl::StatusOr<int> ServerProcess::ReadyzStatus() const {
  absl::StatusOr<TestResponse> answer = Fetch(admin_port_, /*tls=*/false, "GET", "/readyz");
  if (!answer.ok()) return answer.status();
  return answer->status;
}

absl::StatusOr<std::string> ServerProcess::Metrics() const {
  absl::StatusOr<TestResponse> answer = Fetch(admin_port_, /*tls=*/false, "GET", "/metrics");
  if (!answer.ok()) return answer.status();
  if (answer->status != 200) return absl::UnavailableError(absl::StrCat("/metrics answered ", answer->status));
  return std::move(answer->body);
}

absl::StatusOr<double> ServerProcess::MetricSum(absl::string_view name) const {
  absl::StatusOr<std::string> text = Metrics();
  if (!text.ok()) return text.status();
  return SumOfMetric(*text, name);
}

double SumOfMetric(absl::string_view metrics_text, absl::string_view name) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(metrics_text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    size_t space = line.rfind(' ');
    if (space == absl::string_view::npos) continue;
    absl::string_view series = line.substr(0, space);
    double value = 0;
    if (series.substr(0, series.find('{')) == name && absl::SimpleAtod(line.substr(space + 1), &value)) sum += value;
  }
  return sum;
}

}  // namespace halopsa::testing
