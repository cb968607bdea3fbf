#include "keeper/local_state.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/files.h"

namespace stolon::keeper {
namespace {

class LocalStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/keeper-state-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(LocalStateTest, KeeperStateRoundTripAndFormat) {
  KeeperLocalState s{"keeper0", "abcd1234"};
  EXPECT_EQ(EncodeKeeperLocalState(s), R"({"ClusterUID":"abcd1234","UID":"keeper0"})");
  ASSERT_TRUE(SaveKeeperLocalState(dir_, s).ok());
  auto got = LoadKeeperLocalState(dir_);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, s);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/keeperstate").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LocalStateTest, DBStateRoundTripAndStolonJson) {
  DBLocalState s{"db1", 7, true, std::nullopt};
  EXPECT_EQ(EncodeDBLocalState(s),
            R"({"Generation":7,"InitPGParameters":null,"Initializing":true,"UID":"db1"})");
  s.init_pg_parameters = cluster::PGParameters{{"max_connections", "100"}};
  ASSERT_TRUE(SaveDBLocalState(dir_, s).ok());
  auto got = LoadDBLocalState(dir_);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, s);
}

TEST_F(LocalStateTest, MissingFilesAreNotErrorsCorruptOnesAre) {
  auto ks = LoadKeeperLocalState(dir_);
  ASSERT_TRUE(ks.ok());
  EXPECT_FALSE(ks->has_value());
  std::ofstream(dir_ + "/dbstate") << "{not json";
  auto dbs = LoadDBLocalState(dir_);
  EXPECT_FALSE(dbs.ok());
  EXPECT_NE(std::string(dbs.status().message()).find("dbstate"), std::string::npos);
}

TEST_F(LocalStateTest, AtomicWriteLeavesNoTempFiles) {
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "one").ok());
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "two").ok());
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 1);
  std::ifstream in(dir_ + "/f");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "two");
}

TEST_F(LocalStateTest, UidResolution) {
  // Generated when nothing is given, then reused.
  auto a = ResolveKeeperUid(dir_, "", "gen12345");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->uid, "gen12345");
  auto b = ResolveKeeperUid(dir_, "", "other");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->uid, "gen12345");
  // Same uid given: fine. A different one: refused.
  EXPECT_TRUE(ResolveKeeperUid(dir_, "gen12345", "x").ok());
  auto c = ResolveKeeperUid(dir_, "keeper9", "x");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message())
                .find("saved uid \"gen12345\" differs from configuration uid: \"keeper9\""),
            std::string::npos)
      << c.status();
}

TEST_F(LocalStateTest, DataDirCreatedPrivate) {
  std::string d = dir_ + "/a/b";
  ASSERT_TRUE(CreateDataDir(d).ok());
  struct stat st;
  ASSERT_EQ(::stat(d.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(LocalStateTest, LockIsExclusiveAcrossProcesses) {
  auto lock = DataDirLock::Acquire(dir_);
  ASSERT_TRUE(lock.ok()) << lock.status();
  // fcntl locks are per process: ask from a child.
  pid_t pid = ::fork();
  if (pid == 0) {
    auto other = DataDirLock::Acquire(dir_);
    bool refused = !other.ok() &&
                   std::string(other.status().message())
                           .find("cannot take exclusive lock on data dir \"" + dir_ + "\"") == 0;
    ::_exit(refused ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

}  // namespace
}  // namespace stolon::keeper
