// The HTTP server on a Unix-domain socket (server.unix_socket) besides its
// TCP port, over real sockets: what is served there, who the client is
// taken to be, and what happens to the socket file at start and stop.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "http_server_fixture.h"
#include "temp_dir.h"

namespace chatbot::server {
namespace {

namespace fs = std::filesystem;

// One GET on a new connection to `client` is answered 200.
void ExpectAnswered(Client&& client, const std::string& target) {
  ASSERT_TRUE(client.connected()) << target;
  ASSERT_TRUE(client.Send(Get(target)));
  const auto response = client.Read();
  ASSERT_TRUE(response.has_value()) << target;
  EXPECT_EQ(response->status, 200) << target;
}

class UnixSocketTest : public HttpServerTest {
 protected:
  UnixSocketTest() { options_.unix_socket = socket_path_; }

  test_support::TempDir dir_{"chatbot-unix-socket"};
  const std::string socket_path_ = (dir_.path() / "http.sock").string();
};

// Connecting to a socket takes write permission on its file: mode 0666 is
// the reach of a loopback port.
TEST_F(UnixSocketTest, ServesTheSameRequestsAsTcp) {
  StartServer();
  struct stat status {};
  ASSERT_EQ(::lstat(socket_path_.c_str(), &status), 0);
  EXPECT_TRUE(S_ISSOCK(status.st_mode));
  EXPECT_EQ(status.st_mode & 0777, 0666u);

  Client local(socket_path_);
  ASSERT_TRUE(local.connected());
  for (int i = 0; i < 3; ++i) {  // keep-alive: three requests on one connection
    ASSERT_TRUE(local.Send(Post("/echo?n=" + std::to_string(i), "{\"a\":1}")));
    auto response = local.Read();
    ASSERT_TRUE(response.has_value()) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_NE(response->body.find("client=unix:" + socket_path_ + "\n"), std::string::npos)
        << response->body;
    EXPECT_NE(response->body.find("query=n=" + std::to_string(i)), std::string::npos);
    EXPECT_NE(response->body.find("body={\"a\":1}"), std::string::npos);
  }

  ExpectAnswered(Client(port()), "/over-tcp");
}

TEST_F(UnixSocketTest, StopRemovesTheSocketFile) {
  StartServer();
  ASSERT_TRUE(fs::exists(socket_path_));
  server_->Stop();
  EXPECT_FALSE(fs::exists(fs::symlink_status(socket_path_)));
  EXPECT_FALSE(Client(socket_path_).connected());
}

// What a process killed with SIGKILL leaves: a socket file nobody listens on.
TEST_F(UnixSocketTest, ASocketFileLeftBehindIsReplaced) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path_.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ::close(fd);
  ASSERT_TRUE(fs::exists(fs::symlink_status(socket_path_)));

  StartServer();
  ExpectAnswered(Client(socket_path_), "/after-crash");
}

TEST_F(UnixSocketTest, ARunningInstancesSocketIsNotTakenOver) {
  StartServer();
  HttpServerOptions second = options_;
  HttpServer other(second, handler_);
  try {
    other.Start();
    FAIL() << "a second server took over " << socket_path_;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(socket_path_), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("another process is listening on it"), std::string::npos)
        << e.what();
  }
  ExpectAnswered(Client(socket_path_), "/still-mine");  // the first one still answers there
}

TEST_F(UnixSocketTest, AFileThatIsNotASocketIsLeftAloneAndNamed) {
  std::ofstream(socket_path_) << "operator's notes\n";
  HttpServer server(options_, handler_);
  try {
    server.Start();
    FAIL() << "started over a regular file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(socket_path_ + ": a file that is not a socket is there"),
              std::string::npos)
        << e.what();
  }
  std::ifstream in(socket_path_);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "operator's notes");
}

TEST_F(UnixSocketTest, APathTooLongOrInAMissingFolderIsRefusedWithIt) {
  options_.unix_socket = (dir_.path() / std::string(120, 's')).string();
  try {
    HttpServer(options_, handler_).Start();
    FAIL() << "a socket path over 107 bytes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the path is longer than 107 bytes"), std::string::npos)
        << e.what();
  }
  options_.unix_socket = (dir_.path() / "missing" / "http.sock").string();
  try {
    HttpServer(options_, handler_).Start();
    FAIL() << "a socket in a missing folder was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(options_.unix_socket), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace chatbot::server
