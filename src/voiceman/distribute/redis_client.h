#pragma once
// A connection to a Redis server (hiredis underneath): commands as argument vectors,
// replies copied out into plain values. One connection, used by one thread at a time
// (the job board serialises its callers). After an I/O error the next command connects
// again, so a restarted server costs one failed command, not the run.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;

namespace voiceman::distribute {

// Where the server is: redis://[:PASSWORD@]HOST[:PORT][/DB] or
// unix://[:PASSWORD@]/PATH[?db=N].
struct RedisAddress {
  std::string host;  // empty for a Unix socket
  int port = 6379;
  std::string socket_path;
  std::string password;
  int db = 0;
  std::string display;  // the URL without its password, for logs and the manifest
};

// Throws ConfigError for a malformed URL.
RedisAddress parse_redis_url(const std::string& url);
// The URL with any password replaced by "***".
std::string redact_redis_url(const std::string& url);

struct RedisReply {
  enum class Type { nil, string, integer, array, status };
  Type type = Type::nil;
  std::string str;  // string and status replies
  int64_t integer = 0;
  std::vector<RedisReply> elements;
};

// An error reply whose code (its first word) is a server's passing state, such as
// LOADING or READONLY, rather than a fault in the command.
bool server_state_error(std::string_view reply);

class RedisClient {
 public:
  // Connects (IoError if the server cannot be reached; ConfigError for a bad password).
  RedisClient(RedisAddress address, double timeout_s);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command. IoError on a connection failure or an error reply that says the
  // server cannot serve for now (server_state_error): transient, the next call
  // reconnects. Error on any other error reply.
  RedisReply command(const std::vector<std::string>& args);
  // EVAL script with its keys and arguments.
  RedisReply eval(const std::string& script, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args);

  const RedisAddress& address() const { return address_; }

 private:
  void connect();
  void disconnect();

  RedisAddress address_;
  double timeout_s_;
  redisContext* ctx_ = nullptr;
};

}  // namespace voiceman::distribute
