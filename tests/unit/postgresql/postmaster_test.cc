#include "postgresql/postmaster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace stolon::postgresql {
namespace {

using PL = PostmasterLiveness;

ProcessInfo Proc(char state, std::string comm, std::optional<std::string> cwd) {
  ProcessInfo p;
  p.exists = true;
  p.state = state;
  p.ppid = 1;
  p.comm = std::move(comm);
  p.cwd = std::move(cwd);
  return p;
}

TEST(ClassifyPostmasterTest, Table) {
  const std::string dd = "/srv/keeper0/postgres";
  const LockFile pid_file{4242, dd, 32768};
  struct Case {
    const char* name;
    std::optional<LockFile> pid_file;
    ProcessInfo proc;
    PL want;
  };
  const std::vector<Case> cases = {
      {"no pid file", std::nullopt, Proc('S', "postgres", dd), PL::kNoPidFile},
      {"alive, sleeping", pid_file, Proc('S', "postgres", dd), PL::kAlive},
      {"alive, running", pid_file, Proc('R', "postgres", dd), PL::kAlive},
      {"alive though stopped by SIGSTOP", pid_file, Proc('T', "postgres", dd), PL::kAlive},
      {"named postmaster", pid_file, Proc('S', "postmaster", dd), PL::kAlive},
      {"process gone", pid_file, ProcessInfo{}, PL::kGone},
      {"zombie", pid_file, Proc('Z', "postgres", std::nullopt), PL::kZombie},
      {"dead (X)", pid_file, Proc('X', "postgres", std::nullopt), PL::kZombie},
      {"pid reused by another program", pid_file, Proc('S', "bash", dd), PL::kOtherProgram},
      {"pid reused by another user's postgres", pid_file, Proc('S', "postgres", std::nullopt),
       PL::kOtherProgram},
      {"pid reused by a postgres of another data dir", pid_file,
       Proc('S', "postgres", "/srv/keeper1/postgres"), PL::kOtherDataDir},
      {"unparsable pid file", LockFile{}, Proc('S', "postgres", dd), PL::kGone},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(LivenessName(ClassifyPostmaster(c.pid_file, c.proc, dd)), LivenessName(c.want));
  }
}

TEST(ClassifyPostmasterTest, StaleIsEverythingButAliveAndNoPidFile) {
  EXPECT_FALSE(IsStale(PL::kNoPidFile));
  EXPECT_FALSE(IsStale(PL::kAlive));
  for (PL l : {PL::kGone, PL::kZombie, PL::kOtherProgram, PL::kOtherDataDir}) {
    EXPECT_TRUE(IsStale(l)) << LivenessName(l);
  }
}

TEST(ParseLockFileTest, PostgresFifteenPidFile) {
  auto lf = ParseLockFile(
      "12345\n/srv/pg\n1733400000\n5432\n/tmp\n127.0.0.1\n  5432001     32769\nready   \n");
  ASSERT_TRUE(lf.ok()) << lf.status();
  EXPECT_EQ(lf->pid, 12345);
  EXPECT_EQ(lf->data_dir, "/srv/pg");
  ASSERT_TRUE(lf->shm_id.has_value());
  EXPECT_EQ(*lf->shm_id, 32769);
}

TEST(ParseLockFileTest, SocketLockFileHasNoSharedMemoryLine) {
  auto lf = ParseLockFile("777\n/srv/pg\n1733400000\n5432\n/tmp\n");
  ASSERT_TRUE(lf.ok()) << lf.status();
  EXPECT_EQ(lf->pid, 777);
  EXPECT_FALSE(lf->shm_id.has_value());
}

TEST(ParseLockFileTest, RejectsGarbage) {
  EXPECT_FALSE(ParseLockFile("").ok());
  EXPECT_FALSE(ParseLockFile("\n").ok());
  EXPECT_FALSE(ParseLockFile("abc\n/srv/pg\n").ok());
  EXPECT_FALSE(ParseLockFile("-5\n").ok());
  EXPECT_FALSE(ParseLockFile("0\n").ok());
}

TEST(StopPlanTest, EscalatesFromCleanToImmediateToGroupKill) {
  StopTimeouts t;
  t.clean = std::chrono::milliseconds(20000);
  t.immediate = std::chrono::milliseconds(7000);
  t.kill = std::chrono::milliseconds(3000);
  auto fast = StopPlan(true, t);
  ASSERT_EQ(fast.size(), 3u);
  EXPECT_EQ(fast[0].signal, SIGINT);
  EXPECT_EQ(fast[0].wait, t.clean);
  EXPECT_FALSE(fast[0].group);
  EXPECT_EQ(fast[1].signal, SIGQUIT);
  EXPECT_EQ(fast[1].wait, t.immediate);
  EXPECT_FALSE(fast[1].group);
  EXPECT_EQ(fast[2].signal, SIGKILL);
  EXPECT_EQ(fast[2].wait, t.kill);
  EXPECT_TRUE(fast[2].group);
  auto smart = StopPlan(false, t);
  ASSERT_EQ(smart.size(), 3u);
  EXPECT_EQ(smart[0].signal, SIGTERM);
  EXPECT_STREQ(smart[0].mode, "smart");
}

TEST(InspectProcessTest, SelfIsAliveWithItsWorkingDirectory) {
  ProcessInfo p = InspectProcess(::getpid());
  EXPECT_TRUE(p.exists);
  EXPECT_NE(p.state, 'Z');
  EXPECT_EQ(p.ppid, ::getppid());
  ASSERT_TRUE(p.cwd.has_value());
  EXPECT_EQ(*p.cwd, std::filesystem::current_path().string());
}

TEST(InspectProcessTest, UnreapedChildIsAZombie) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ProcessInfo p;
  for (int i = 0; i < 200; ++i) {  // up to 2 s for the child to exit
    p = InspectProcess(child);
    if (p.state == 'Z') break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(p.exists);
  EXPECT_EQ(p.state, 'Z');
  EXPECT_EQ(p.ppid, ::getpid());
  LockFile lf{child, "/nowhere", std::nullopt};
  EXPECT_EQ(ClassifyPostmaster(lf, p, "/nowhere"), PL::kZombie);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  EXPECT_FALSE(InspectProcess(child).exists);
}

}  // namespace
}  // namespace stolon::postgresql
