#include "support/etcd.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace stolon::testing {

namespace {
constexpr const char* kEtcd = "/usr/bin/etcd";
constexpr const char* kEtcdctl = "/usr/bin/etcdctl";

std::string Tail(const std::string& s, size_t n = 3000) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}
}  // namespace

EtcdCluster::EtcdCluster(EtcdClusterOptions options)
    : options_(std::move(options)), dir_("stolon-etcd") {
  if (options_.members < 1) throw std::runtime_error("EtcdCluster needs at least one member");
  token_ = "stolon-test-" + std::to_string(::getpid()) + "-" + std::to_string(PickFreePort());
  for (int i = 0; i < options_.members; ++i) {
    Member m;
    m.name = "m" + std::to_string(i);
    m.client_port = PickFreePort();
    m.peer_port = PickFreePort();
    m.data_dir = dir_.path() + "/" + m.name;
    if (!initial_cluster_.empty()) initial_cluster_ += ",";
    initial_cluster_ += m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
    members_.push_back(std::move(m));
  }
  for (int i = 0; i < size(); ++i) Start(i);
  if (!WaitAllHealthy(std::chrono::seconds(30))) {
    std::string logs;
    for (int i = 0; i < size(); ++i) logs += "--- " + members_[i].name + ":\n" + Tail(Log(i));
    throw std::runtime_error("etcd did not become healthy within 30s:\n" + logs);
  }
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) {
    if (m.process) m.process->Kill();
  }
}

std::string EtcdCluster::endpoint(int i) const {
  return std::string(tls() ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(members_.at(static_cast<size_t>(i)).client_port);
}

std::vector<std::string> EtcdCluster::endpoints() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
  return out;
}

std::string EtcdCluster::endpoints_flag() const {
  std::string out;
  for (const auto& e : endpoints()) out += (out.empty() ? "" : ",") + e;
  return out;
}

std::string EtcdCluster::log_path(int i) const {
  return dir_.path() + "/" + members_.at(static_cast<size_t>(i)).name + ".log";
}

void EtcdCluster::Start(int i) {
  Member& m = members_.at(static_cast<size_t>(i));
  if (m.process && m.process->Running()) return;
  const std::string client = endpoint(i);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  ProcessOptions o;
  o.argv = {kEtcd,
            "--name=" + m.name,
            "--data-dir=" + m.data_dir,
            "--listen-client-urls=" + client,
            "--advertise-client-urls=" + client,
            "--listen-peer-urls=" + peer,
            "--initial-advertise-peer-urls=" + peer,
            "--initial-cluster=" + initial_cluster_,
            "--initial-cluster-state=new",
            "--initial-cluster-token=" + token_,
            "--heartbeat-interval=" + std::to_string(options_.heartbeat_ms),
            "--election-timeout=" + std::to_string(options_.election_timeout_ms),
            "--logger=zap",
            "--log-outputs=stderr",
            "--log-level=warn"};
  if (tls()) {
    o.argv.push_back("--cert-file=" + options_.server_cert_file);
    o.argv.push_back("--key-file=" + options_.server_key_file);
    if (!options_.client_ca_file.empty()) {
      o.argv.push_back("--client-cert-auth");
      o.argv.push_back("--trusted-ca-file=" + options_.client_ca_file);
    }
  }
  o.log_file = log_path(i);
  m.process = std::make_unique<Process>(std::move(o));
  m.process->Start();
}

void EtcdCluster::Kill(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (p) p->Kill();
}

void EtcdCluster::Stop(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (p) p->Stop(SIGTERM, std::chrono::seconds(10));
}

namespace {

// True when every thread of `pid` is stopped (state T in /proc/<pid>/task/*/stat).
bool AllThreadsStopped(pid_t pid) {
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  int seen = 0;
  for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(t.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;  // the thread just exited
    const auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) return false;
    const char state = line[paren + 2];
    if (state != 'T' && state != 't') return false;
    ++seen;
  }
  return !ec && seen > 0;
}

}  // namespace

void EtcdCluster::Freeze(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (!p) return;
  p->Signal(SIGSTOP);
  // kill() returns before the stop has reached every thread: a thread running on the other CPU
  // (or on a vCPU the host has not scheduled) can still answer a request sent right after. Wait,
  // bounded, until all threads are stopped, so a test's next call really meets a frozen etcd.
  WaitFor([&] { return AllThreadsStopped(p->pid()); }, std::chrono::seconds(2),
          std::chrono::milliseconds(1));
}

void EtcdCluster::Thaw(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  if (p) p->Signal(SIGCONT);
}

bool EtcdCluster::Running(int i) {
  auto& p = members_.at(static_cast<size_t>(i)).process;
  return p && p->Running();
}

void EtcdCluster::AddTlsArgs(std::vector<std::string>& argv) const {
  if (!tls()) return;
  argv.push_back("--insecure-skip-tls-verify");
  if (!options_.etcdctl_cert_file.empty()) {
    argv.push_back("--cert=" + options_.etcdctl_cert_file);
    argv.push_back("--key=" + options_.etcdctl_key_file);
  }
}

int EtcdCluster::Etcdctl(const std::vector<std::string>& args, std::string* out) const {
  std::vector<std::string> argv = {kEtcdctl, "--endpoints=" + endpoints_flag(), "--dial-timeout=2s",
                                   "--command-timeout=3s"};
  AddTlsArgs(argv);
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, out, std::chrono::seconds(10), false, {{"ETCDCTL_API", "3"}});
}

bool EtcdCluster::WaitHealthy(int i, std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        if (!Running(i)) return false;
        std::vector<std::string> argv = {kEtcdctl, "--endpoints=" + endpoint(i),
                                         "--dial-timeout=1s", "--command-timeout=2s"};
        AddTlsArgs(argv);
        argv.push_back("endpoint");
        argv.push_back("health");
        std::string out;
        return RunCommand(argv, &out, std::chrono::seconds(5), false, {{"ETCDCTL_API", "3"}}) == 0;
      },
      timeout, std::chrono::milliseconds(100));
}

bool EtcdCluster::WaitAllHealthy(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int i = 0; i < size(); ++i) {
    if (!Running(i)) continue;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !WaitHealthy(i, left)) return false;
  }
  return true;
}

std::string EtcdCluster::Log(int i) const {
  const auto& p = members_.at(static_cast<size_t>(i)).process;
  return p ? p->Log() : "";
}

}  // namespace stolon::testing
