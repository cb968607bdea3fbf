#include "common/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

namespace stolon {
namespace {

namespace fs = std::filesystem;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "stolon-files-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Names in the directory other than `keep` (leftover temporary files).
  int OtherEntries(const std::string& keep) const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename() != keep;
    return n;
  }
  std::string dir_;
};

int FailFsync(int) {
  errno = EIO;
  return -1;
}
int FailRename(const char*, const char*) {
  errno = EXDEV;
  return -1;
}
int FsyncCalls = 0;
int CountingFsync(int fd) {
  ++FsyncCalls;
  return ::fsync(fd);
}
int RealRename(const char* a, const char* b) { return ::rename(a, b); }

TEST_F(FilesTest, ReadFileDistinguishesMissingFromUnreadable) {
  EXPECT_TRUE(absl::IsNotFound(ReadFile(dir_ + "/none").status()));
  auto none = ReadFileIfExists(dir_ + "/none");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "abc").ok());
  EXPECT_EQ(*ReadFile(dir_ + "/f"), "abc");
  EXPECT_EQ(**ReadFileIfExists(dir_ + "/f"), "abc");
  // A directory cannot be read as a file; the error is not NotFound.
  auto d = ReadFile(dir_);
  EXPECT_FALSE(d.ok());
  EXPECT_FALSE(absl::IsNotFound(d.status()));
}

TEST_F(FilesTest, ReplacesContentWithModeAndSyncsFileAndDirectory) {
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "one").ok());
  FsyncCalls = 0;
  AtomicWriteSyscalls counting{&CountingFsync, &RealRename};
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "two", 0640, counting).ok());
  EXPECT_EQ(*ReadFile(dir_ + "/f"), "two");
  EXPECT_EQ(FsyncCalls, 2);  // the file, then the directory
  struct stat st {};
  ASSERT_EQ(::stat((dir_ + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(OtherEntries("f"), 0);
}

TEST_F(FilesTest, FailedFsyncOrRenameLeavesTheOldFileAndNoTemporary) {
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "old").ok());
  for (AtomicWriteSyscalls sys :
       {AtomicWriteSyscalls{&FailFsync, &RealRename}, AtomicWriteSyscalls{&::fsync, &FailRename}}) {
    absl::Status s = AtomicWriteFile(dir_ + "/f", "new", 0600, sys);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find(dir_ + "/f"), std::string::npos) << s;
    EXPECT_EQ(*ReadFile(dir_ + "/f"), "old");
    EXPECT_EQ(OtherEntries("f"), 0) << "temporary file left behind";
  }
}

TEST_F(FilesTest, FailedDirectoryFsyncIsReportedAfterTheRename) {
  ASSERT_TRUE(AtomicWriteFile(dir_ + "/f", "old").ok());
  // The file's own fsync succeeds, the directory's fails: the new content is in place but the
  // caller learns that its durability is not guaranteed.
  static int calls = 0;
  calls = 0;
  AtomicWriteSyscalls second_fails{
      [](int fd) { return ++calls == 1 ? ::fsync(fd) : FailFsync(fd); }, &RealRename};
  absl::Status s = AtomicWriteFile(dir_ + "/f", "new", 0600, second_fails);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fsync directory"), std::string::npos) << s;
}

TEST_F(FilesTest, MissingDirectoryIsAClearError) {
  absl::Status s = AtomicWriteFile(dir_ + "/no/such/f", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot create a temporary file for " + dir_ + "/no/such/f"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace stolon
