#include "ctl/commands.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "cluster/json.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/status.h"
#include "ctl/ops.h"
#include "ctl/status.h"
#include "fmt/format.h"

#ifndef STOLON_VERSION
#define STOLON_VERSION "No version defined at build time"
#endif

namespace stolon::ctl {
namespace {

constexpr int kMaxUpdateRetries = 3;

// Flags of the subcommands (stolon v0.17 names).
struct Flags {
  std::string positional;  // JSON argument of init/update, keeper uid of failkeeper/removekeeper
  std::string file;        // -f/--file of init/update/clusterdata write
  bool file_given = false;
  bool yes = false;             // -y/--yes
  bool patch = false;           // update -p/--patch
  std::string format = "text";  // status -f/--format
  bool defaults = false;        // spec --defaults
  bool pretty = false;          // clusterdata read --pretty
  std::string shell;            // completion <shell>
};

// One invocation: flags, streams and the lazily opened store.
class Ctl {
 public:
  Ctl(CtlIo io, const StoreFactory& factory) : io_(io), factory_(factory) {}

  CommonConfig config;
  Flags flags;

  absl::Status Init();
  absl::Status Status();
  absl::Status Spec();
  absl::Status Update();
  absl::Status FailKeeper();
  absl::Status Promote();
  absl::Status RemoveKeeper();
  absl::Status ClusterDataRead();
  absl::Status ClusterDataWrite();

  CtlIo& io() { return io_; }

 private:
  absl::StatusOr<store::Store*> OpenStore();
  // Reads the clusterdata that stolonctl requires to exist and be valid.
  absl::StatusOr<store::Versioned<cluster::ClusterData>> ReadClusterData();
  // Reads input from the positional argument or -f (`-` = stdin). `what` names it for errors.
  absl::StatusOr<std::string> ReadInput(bool allow_default, const std::string& default_value);
  absl::Status Confirm();
  // Re-reads, applies `change`, writes with CAS; retries on a lost CAS.
  absl::Status UpdateClusterData(
      const std::function<absl::StatusOr<cluster::ClusterData>(const cluster::ClusterData&)>&
          change,
      int retries);

  CtlIo io_;
  const StoreFactory& factory_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::Store> store_;
};

absl::StatusOr<store::Store*> Ctl::OpenStore() {
  if (!store_) {
    RETURN_IF_ERROR(ValidateCommonConfig(config));
    ASSIGN_OR_RETURN(store::StoreConfig sc, store::StoreConfigFromFlags(config));
    ASSIGN_OR_RETURN(kv_, factory_(sc));
    store_ = std::make_unique<store::Store>(*kv_, sc.BasePath());
  }
  return store_.get();
}

absl::StatusOr<store::Versioned<cluster::ClusterData>> Ctl::ReadClusterData() {
  ASSIGN_OR_RETURN(store::Store * st, OpenStore());
  ASSIGN_OR_RETURN(auto got, st->GetClusterData());
  std::optional<cluster::ClusterData> cd;
  if (got) cd = got->value;
  ASSIGN_OR_RETURN(auto valid, RequireClusterData(cd, config.cluster_name));
  return store::Versioned<cluster::ClusterData>{std::move(valid), got->revision};
}

absl::StatusOr<std::string> Ctl::ReadInput(bool allow_default, const std::string& default_value) {
  if (!flags.positional.empty() && flags.file_given) {
    return absl::InvalidArgumentError(
        "give the cluster spec either as an argument or with --file, not both");
  }
  if (!flags.positional.empty()) return flags.positional;
  if (!flags.file_given) {
    if (allow_default) return default_value;
    return absl::InvalidArgumentError(
        "no cluster spec given: pass it as a JSON argument or with --file (`-` reads stdin)");
  }
  std::stringstream ss;
  if (flags.file == "-") {
    ss << io_.in.rdbuf();
  } else {
    std::ifstream f(flags.file);
    if (!f) {
      return absl::InvalidArgumentError(
          fmt::format("cannot read file \"{}\": {}", flags.file, std::strerror(errno)));
    }
    ss << f.rdbuf();
  }
  return ss.str();
}

absl::Status Ctl::Confirm() {
  if (flags.yes) return absl::OkStatus();
  for (int i = 0; i < 10; ++i) {
    io_.out << "Are you sure you want to continue? [yes/no] " << std::flush;
    std::string answer;
    if (!std::getline(io_.in, answer)) {
      return absl::FailedPreconditionError(
          "no confirmation on standard input: answer yes/no, or pass --yes");
    }
    if (answer == "yes") return absl::OkStatus();
    if (answer == "no") return absl::CancelledError("aborted: nothing was changed");
    io_.out << "Please enter 'yes' or 'no'\n";
  }
  return absl::FailedPreconditionError("no valid confirmation given: nothing was changed");
}

absl::Status Ctl::UpdateClusterData(
    const std::function<absl::StatusOr<cluster::ClusterData>(const cluster::ClusterData&)>& change,
    int retries) {
  ASSIGN_OR_RETURN(store::Store * st, OpenStore());
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto cur, ReadClusterData());
    ASSIGN_OR_RETURN(cluster::ClusterData next, change(cur.value));
    auto put = st->AtomicPutClusterData(next, cur.revision);
    if (put.ok()) return absl::OkStatus();
    if (put.status().code() != absl::StatusCode::kAborted) return put.status();
    if (attempt + 1 >= retries) {
      return absl::AbortedError(fmt::format(
          "failed to update cluster data after {} retries: the sentinel rewrites it concurrently; "
          "try again",
          retries));
    }
  }
}

absl::Status Ctl::Init() {
  ASSIGN_OR_RETURN(std::string json, ReadInput(true, R"({"initMode":"new"})"));
  auto parsed = cluster::ParseClusterSpecStrict(json);
  if (!parsed.ok()) return Annotate(parsed.status(), "invalid cluster spec");
  const cluster::ClusterSpec& spec = *parsed;
  RealClock& clock = RealClock::Instance();
  RandomIdGenerator ids;
  ASSIGN_OR_RETURN(cluster::ClusterData cd, cluster::NewClusterData(spec, ids, clock));
  ASSIGN_OR_RETURN(store::Store * st, OpenStore());
  ASSIGN_OR_RETURN(auto existing, st->GetClusterData());
  if (existing) io_.out << "WARNING: The current cluster data will be removed\n";
  io_.out << "WARNING: The databases managed by the keepers will be overwritten depending on the "
             "provided cluster spec.\n";
  RETURN_IF_ERROR(Confirm());
  RETURN_IF_ERROR(st->PutClusterData(cd).status());
  return absl::OkStatus();
}

absl::Status Ctl::Status() {
  if (flags.format != "text" && flags.format != "json" && !flags.format.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("unrecognised output format {} (use text or json)", flags.format));
  }
  ASSIGN_OR_RETURN(store::Store * st, OpenStore());
  StatusInput in;
  auto leader = st->GetSentinelLeader();
  if (leader.ok()) {
    in.leader_uid = *leader;
  } else if (leader.status().code() != absl::StatusCode::kNotFound) {
    return Annotate(leader.status(), "cannot get leader sentinel info");
  }
  ASSIGN_OR_RETURN(in.sentinels, st->GetSentinelsInfo());
  ASSIGN_OR_RETURN(in.proxies, st->GetProxiesInfo());
  ASSIGN_OR_RETURN(auto cd, ReadClusterData());
  in.cd = std::move(cd.value);
  if (flags.format == "json") {
    io_.out << RenderStatusJson(in).dump(1, '\t') << "\n";
  } else {
    io_.out << RenderStatusText(in);
  }
  return absl::OkStatus();
}

absl::Status Ctl::Spec() {
  ASSIGN_OR_RETURN(auto cd, ReadClusterData());
  nlohmann::json out =
      flags.defaults
          ? cluster::ToJson(cd.value.cluster.spec.WithDefaults(), cluster::SpecKeys::kAllKeys)
          : cluster::ToJson(cd.value.cluster.spec, cluster::SpecKeys::kOmitEmpty);
  io_.out << out.dump(1, '\t') << "\n";
  return absl::OkStatus();
}

absl::Status Ctl::Update() {
  if (flags.positional.empty() && !flags.file_given) {
    return absl::InvalidArgumentError(
        "no cluster spec given: pass it as a JSON argument or with --file (`-` reads stdin)");
  }
  ASSIGN_OR_RETURN(std::string json, ReadInput(false, ""));
  std::optional<cluster::ClusterSpec> replacement;
  if (!flags.patch) {
    auto spec = cluster::ParseClusterSpecStrict(json);
    if (!spec.ok()) return Annotate(spec.status(), "invalid cluster spec");
    replacement = *spec;
  } else {
    // Reject a malformed patch before touching the store.
    if (!nlohmann::json::accept(json)) {
      return absl::InvalidArgumentError("invalid patch: not valid JSON");
    }
  }
  bool patch = flags.patch;
  return UpdateClusterData(
      [&](const cluster::ClusterData& cd) -> absl::StatusOr<cluster::ClusterData> {
        cluster::ClusterSpec spec;
        if (patch) {
          auto patched = cluster::MergePatchSpec(cd.cluster.spec, json);
          if (!patched.ok()) return Annotate(patched.status(), "invalid patch");
          spec = *patched;
        } else {
          spec = *replacement;
        }
        return UpdateSpec(cd, spec);
      },
      kMaxUpdateRetries);
}

absl::Status Ctl::FailKeeper() {
  std::string uid = flags.positional;
  if (uid.empty())
    return absl::InvalidArgumentError("keeper uid required: stolonctl failkeeper <keeperUID>");
  return UpdateClusterData([&](const cluster::ClusterData& cd) { return ctl::FailKeeper(cd, uid); },
                           kMaxUpdateRetries);
}

absl::Status Ctl::Promote() {
  ASSIGN_OR_RETURN(auto cd, ReadClusterData());
  auto check = ctl::Promote(cd.value);
  if (check.status().code() == absl::StatusCode::kAlreadyExists) {
    io_.err << check.status().message() << "\n";
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(check.status());
  io_.out << "WARNING: The cluster will be promoted: it will stop following its primary.\n";
  RETURN_IF_ERROR(Confirm());
  return UpdateClusterData([](const cluster::ClusterData& c) { return ctl::Promote(c); },
                           kMaxUpdateRetries);
}

absl::Status Ctl::RemoveKeeper() {
  std::string uid = flags.positional;
  if (uid.empty()) {
    return absl::InvalidArgumentError("keeper uid required: stolonctl removekeeper <keeperUID>");
  }
  return UpdateClusterData(
      [&](const cluster::ClusterData& cd) { return ctl::RemoveKeeper(cd, uid); },
      kMaxUpdateRetries);
}

absl::Status Ctl::ClusterDataRead() {
  ASSIGN_OR_RETURN(store::Store * st, OpenStore());
  ASSIGN_OR_RETURN(auto got, st->GetClusterData());
  if (!got) {
    return absl::NotFoundError(fmt::format(
        "no cluster data for cluster \"{}\" in the store (check --cluster-name and --store-prefix)",
        config.cluster_name));
  }
  nlohmann::json j = cluster::ToJson(got->value);
  io_.out << (flags.pretty ? j.dump(1, '\t') : j.dump()) << "\n";
  return absl::OkStatus();
}

absl::Status Ctl::ClusterDataWrite() {
  if (flags.file.empty()) flags.file = "-";
  flags.file_given = true;
  ASSIGN_OR_RETURN(std::string json, ReadInput(false, ""));
  auto cd = cluster::ParseClusterData(json);
  if (!cd.ok()) return Annotate(cd.status(), "invalid cluster data");
  RETURN_IF_ERROR(
      Annotate(cd->cluster.spec.WithDefaults().Validate(), "invalid cluster data: cluster.spec"));
  ASSIGN_OR_RETURN(store::Store * st, OpenStore());
  ASSIGN_OR_RETURN(auto existing, st->GetClusterData());
  if (existing && !flags.yes) {
    return absl::FailedPreconditionError(
        "WARNING: cluster data already available use --yes to override");
  }
  RETURN_IF_ERROR(st->PutClusterData(*cd).status());
  io_.out << "successfully wrote cluster data into the new store\n";
  return absl::OkStatus();
}

std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\n') c = ' ';
  }
  return out;
}

}  // namespace

StoreFactory DefaultStoreFactory() {
  return [](const store::StoreConfig& c) { return store::NewKvStore(c); };
}

namespace {

// How a subcommand is wired: `on(sub, fn)` makes fn the action run once parsing chose `sub`;
// `add_file(sub, what)` adds its -f/--file option.
struct CommandWiring {
  Ctl& ctl;
  Flags& f;
  std::function<void(CLI::App*, const std::function<absl::Status()>&)> on;
  std::function<void(CLI::App*, const std::string&)> add_file;
};

// init, status, spec, update: the cluster specification. Returns the status subcommand (its
// --format json also shapes the error output).
CLI::App* AddSpecCommands(CLI::App& app, const CommandWiring& w) {
  Ctl& ctl = w.ctl;
  Flags& f = w.f;
  auto* init = app.add_subcommand("init", "Initialize a new cluster");
  init->add_option("spec", f.positional, "cluster spec as JSON (default {\"initMode\":\"new\"})");
  w.add_file(init, "file containing the cluster spec");
  init->add_flag("-y,--yes", f.yes, "don't ask for confirmation");
  init->footer(
      "Examples:\n"
      "  stolonctl init                                   # {\"initMode\":\"new\"}\n"
      "  stolonctl init '{\"initMode\":\"new\",\"synchronousReplication\":true}'\n"
      "  stolonctl init -y -f spec.json\n"
      "  stolonctl init "
      "'{\"initMode\":\"existing\",\"existingConfig\":{\"keeperUID\":\"keeper0\"}}'");
  w.on(init, [&ctl] { return ctl.Init(); });

  auto* status = app.add_subcommand("status", "Display the current cluster status");
  status->add_option("-f,--format", f.format, "output format: text or json")->capture_default_str();
  status->footer("Examples:\n  stolonctl status\n  stolonctl status -f json | jq .cluster");
  w.on(status, [&ctl] { return ctl.Status(); });

  auto* spec = app.add_subcommand("spec", "Retrieve the current cluster specification");
  spec->add_flag("--defaults", f.defaults, "also show default values");
  spec->footer("Examples:\n  stolonctl spec\n  stolonctl spec --defaults");
  w.on(spec, [&ctl] { return ctl.Spec(); });

  auto* update = app.add_subcommand("update", "Update a cluster specification");
  update->add_option("spec", f.positional, "cluster spec (or merge patch) as JSON");
  w.add_file(update, "file containing the new cluster spec or patch");
  update->add_flag("-p,--patch", f.patch, "patch the current cluster specification (RFC 7386)");
  update->footer(
      "Examples:\n"
      "  stolonctl update --patch '{\"synchronousReplication\":true}'\n"
      "  stolonctl update --patch '{\"pgParameters\":{\"max_connections\":\"200\"}}'\n"
      "  stolonctl update --patch '{\"pgParameters\":{\"work_mem\":null}}'   # remove a key\n"
      "  stolonctl update -f full-spec.json                                  # replace the spec");
  w.on(update, [&ctl] { return ctl.Update(); });
  return status;
}

// failkeeper, promote, removekeeper, clusterdata read/write: operations on the cluster data.
void AddOperationCommands(CLI::App& app, const CommandWiring& w) {
  Ctl& ctl = w.ctl;
  Flags& f = w.f;
  auto* failkeeper = app.add_subcommand("failkeeper", "Force keeper as temporarily failed");
  failkeeper->add_option("keeperUID", f.positional, "keeper uid")->required();
  failkeeper->footer(
      "Examples:\n  stolonctl failkeeper keeper0   # force a failover away from keeper0");
  w.on(failkeeper, [&ctl] { return ctl.FailKeeper(); });

  auto* promote = app.add_subcommand("promote", "Promotes a standby cluster to a primary cluster");
  promote->add_flag("-y,--yes", f.yes, "don't ask for confirmation");
  promote->footer("Examples:\n  stolonctl promote -y");
  w.on(promote, [&ctl] { return ctl.Promote(); });

  auto* removekeeper = app.add_subcommand("removekeeper", "Removes keeper from cluster data");
  removekeeper->add_option("keeperUID", f.positional, "keeper uid")->required();
  removekeeper->footer("Examples:\n  stolonctl removekeeper keeper2");
  w.on(removekeeper, [&ctl] { return ctl.RemoveKeeper(); });

  auto* cdcmd = app.add_subcommand("clusterdata", "Manage current cluster data");
  cdcmd->require_subcommand(1);
  auto* cdread = cdcmd->add_subcommand("read", "Retrieve the current cluster data");
  cdread->add_flag("--pretty", f.pretty, "pretty print");
  cdread->footer("Examples:\n  stolonctl clusterdata read --pretty > backup.json");
  w.on(cdread, [&ctl] { return ctl.ClusterDataRead(); });
  auto* cdwrite = cdcmd->add_subcommand("write", "Write cluster data");
  cdwrite->add_option("-f,--file", f.file, "file containing the cluster data (default: stdin)");
  cdwrite->add_flag("-y,--yes", f.yes, "overwrite the existing cluster data");
  cdwrite->footer("Examples:\n  stolonctl clusterdata write -f backup.json --yes");
  w.on(cdwrite, [&ctl] { return ctl.ClusterDataWrite(); });
}

// version and completion: about stolonctl itself.
void AddToolCommands(CLI::App& app, const CommandWiring& w, CtlIo io) {
  Flags& f = w.f;
  auto* version = app.add_subcommand("version", "Display the version");
  w.on(version, [io] {
    io.out << "stolonctl version " << STOLON_VERSION << "\n";
    return absl::OkStatus();
  });

  auto* completion = app.add_subcommand("completion", "Print a shell completion script");
  completion->add_option("shell", f.shell, "shell: bash")->required();
  completion->footer("Examples:\n  source <(stolonctl completion bash)");
  w.on(completion, [io, &f] {
    if (f.shell != "bash") {
      return absl::InvalidArgumentError(
          fmt::format("unsupported shell \"{}\": only bash is supported", f.shell));
    }
    io.out << BashCompletionScript();
    return absl::OkStatus();
  });
}

}  // namespace

int RunStolonctl(const std::vector<std::string>& args, CtlIo io, const StoreFactory& factory) {
  Ctl ctl(io, factory);
  CLI::App app{"stolon command line client", "stolonctl"};
  app.fallthrough();  // global flags are accepted after the subcommand too
  app.require_subcommand(1);
  AddCommonFlags(app, ctl.config, Component::kCtl);
  app.footer(
      "Examples:\n"
      "  stolonctl --cluster-name=mycluster --store-backend=etcdv3 status\n"
      "  STOLONCTL_CLUSTER_NAME=mycluster STOLONCTL_STORE_BACKEND=etcdv3 stolonctl spec\n"
      "Global flags can also be set with STOLONCTL_<FLAG> environment variables.");
  Flags& f = ctl.flags;

  std::function<absl::Status()> action;
  const CommandWiring wiring{ctl, f,
                             [&action](CLI::App* sub, const std::function<absl::Status()>& fn) {
                               sub->callback([&action, fn] { action = fn; });
                             },
                             [&f](CLI::App* sub, const std::string& what) {
                               sub->add_option("-f,--file", f.file,
                                               what + " (use - to read from stdin)")
                                   ->each([&f](const std::string&) { f.file_given = true; });
                             }};
  CLI::App* status = AddSpecCommands(app, wiring);
  AddOperationCommands(app, wiring);
  AddToolCommands(app, wiring, io);

  FlagParseResult parsed = ParseCommandLine(app, args, "stolonctl", "STOLONCTL");
  if (parsed.exit) {
    (parsed.exit_code == 0 ? io.out : io.err)
        << parsed.message << (parsed.exit_code == 0 ? "" : "\n");
    return parsed.exit_code;
  }
  if (absl::Status st = InitLoggingFromFlags(ctl.config); !st.ok()) {
    io.err << "stolonctl: " << OneLine(std::string(st.message())) << "\n";
    return 1;
  }
  if (!action) return 0;
  absl::Status st = action();
  if (st.ok()) return 0;
  if (status->parsed() && f.format == "json") {
    io.out << nlohmann::json({{"error",
                               {{"code", absl::StatusCodeToString(st.code())},
                                {"message", std::string(st.message())}}}})
                  .dump(1, '\t')
           << "\n";
  }
  io.err << "stolonctl: " << OneLine(std::string(st.message())) << "\n";
  return 1;
}

std::string BashCompletionScript() {
  return R"(# bash completion for stolonctl
_stolonctl() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; }
  local globals="--cluster-name --store-backend --store-endpoints --store-timeout --store-prefix --store-cert-file --store-key --store-ca-file --store-skip-tls-verify --log-level --kube-resource-kind --kubeconfig --kube-context --kube-namespace --help --version"
  local cmds="init status spec update failkeeper promote removekeeper clusterdata version completion"
  local sub="" i
  for ((i=1; i < COMP_CWORD; i++)); do
    case ${COMP_WORDS[i]} in
      init|status|spec|update|failkeeper|promote|removekeeper|clusterdata|version|completion) sub=${COMP_WORDS[i]}; break;;
    esac
  done
  case $prev in
    --store-backend) COMPREPLY=($(compgen -W "etcdv3" -- "$cur")); return;;
    --log-level) COMPREPLY=($(compgen -W "debug info warn error" -- "$cur")); return;;
    -f|--file|--store-cert-file|--store-key|--store-ca-file) COMPREPLY=($(compgen -f -- "$cur")); return;;
    --format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return;;
  esac
  local words_for=""
  case $sub in
    "") words_for="$cmds $globals";;
    init) words_for="--file --yes $globals";;
    status) words_for="--format $globals";;
    spec) words_for="--defaults $globals";;
    update) words_for="--file --patch $globals";;
    promote) words_for="--yes $globals";;
    clusterdata) words_for="read write --pretty --file --yes $globals";;
    completion) words_for="bash";;
    *) words_for="$globals";;
  esac
  COMPREPLY=($(compgen -W "$words_for" -- "$cur"))
}
complete -F _stolonctl stolonctl
)";
}

}  // namespace stolon::ctl
