#include "voiceman/distribute/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>

#include "voiceman/core/errors.h"

namespace voiceman::distribute {
namespace {

int parse_int(std::string_view text, const std::string& url, const char* what) {
  int value = 0;
  if (text.empty()) throw ConfigError("--redis " + url + ": empty " + what);
  for (char c : text) {
    if (c < '0' || c > '9' || value > 1000000)
      throw ConfigError("--redis " + url + ": bad " + what + " '" + std::string(text) + "'");
    value = value * 10 + (c - '0');
  }
  return value;
}

timeval to_timeval(double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>(std::fmod(seconds, 1.0) * 1e6);
  return tv;
}

RedisReply copy_reply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      break;  // nil
  }
  return out;
}

// unix://:PASSWORD@/PATH: the password ends at the "@/" that starts the absolute path
// (a socket path may hold '@' itself). npos when there is no password.
size_t unix_password_end(std::string_view after_scheme) {
  return after_scheme.starts_with(':') ? after_scheme.find("@/") : std::string_view::npos;
}

// %XX escapes, as in any URL (and as redis-cli -u reads them): a password may hold '@',
// ':' or '/' written %40, %3A, %2F. A '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

RedisAddress parse_redis_url(const std::string& url) {
  RedisAddress a;
  a.display = redact_redis_url(url);
  std::string_view rest = url;
  if (rest.starts_with("unix://")) {
    rest.remove_prefix(7);
    if (const size_t at = unix_password_end(rest); at != std::string_view::npos) {
      a.password = percent_decode(rest.substr(1, at - 1));
      rest.remove_prefix(at + 1);
    } else if (rest.find('@') != std::string_view::npos && !rest.starts_with('/')) {
      throw ConfigError("--redis " + a.display +
                        ": only a password (unix://:PASSWORD@/PATH) is supported, not a user name");
    }
    const size_t q = rest.find('?');
    a.socket_path = std::string(rest.substr(0, q));
    if (q != std::string_view::npos) {
      const std::string_view query = rest.substr(q + 1);
      if (!query.starts_with("db="))
        throw ConfigError("--redis " + a.display + ": only ?db=N may follow a socket path");
      a.db = parse_int(query.substr(3), a.display, "database number");
    }
    if (a.socket_path.empty() || a.socket_path[0] != '/')
      throw ConfigError("--redis " + a.display + ": unix:// needs an absolute socket path");
    return a;
  }
  if (!rest.starts_with("redis://"))
    throw ConfigError("--redis " + a.display +
                      ": expected redis://[:PASSWORD@]HOST[:PORT][/DB] or "
                      "unix://[:PASSWORD@]/PATH[?db=N]");
  rest.remove_prefix(8);
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    // redis://:password@host, or user:password (Redis 6 ACL users are not supported).
    const size_t colon = credentials.find(':');
    if (colon == std::string_view::npos || colon != 0)
      throw ConfigError("--redis " + a.display +
                        ": only a password (redis://:PASSWORD@HOST) "
                        "is supported, not a user name");
    a.password = percent_decode(credentials.substr(colon + 1));
    rest.remove_prefix(at + 1);
  }
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size())
    a.db = parse_int(rest.substr(slash + 1), a.display, "database number");
  // HOST:PORT, or [IPV6]:PORT.
  const size_t bracket = hostport.starts_with('[') ? hostport.find(']') : 0;
  if (bracket == std::string_view::npos) throw ConfigError("--redis " + a.display + ": bad host");
  const size_t colon = hostport.find(':', bracket);
  if (colon != std::string_view::npos) {
    a.port = parse_int(hostport.substr(colon + 1), a.display, "port");
    hostport = hostport.substr(0, colon);
  }
  if (hostport.starts_with('[')) hostport = hostport.substr(1, hostport.size() - 2);
  if (hostport.empty()) throw ConfigError("--redis " + a.display + ": no host");
  if (a.port <= 0 || a.port > 65535)
    throw ConfigError("--redis " + a.display + ": port out of range");
  a.host = std::string(hostport);
  return a;
}

std::string redact_redis_url(const std::string& url) {
  if (url.starts_with("unix://")) {
    const std::string_view rest = std::string_view(url).substr(7);
    if (rest.starts_with('/')) return url;  // no credentials
    const size_t end = unix_password_end(rest);
    if (end != std::string::npos) return "unix://:***" + url.substr(7 + end);
    // Malformed: whatever comes before the path (after the last '@', where there is one)
    // may be a secret.
    const size_t last_at = rest.rfind('@');
    const size_t slash = rest.find('/', last_at == std::string_view::npos ? 0 : last_at);
    return "unix://***" + (slash == std::string::npos ? std::string() : url.substr(7 + slash));
  }
  const size_t scheme = url.find("://");
  const size_t at = url.rfind('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  return url.substr(0, scheme + 3) + ":***" + url.substr(at);
}

bool server_state_error(std::string_view reply) {
  // Redis's error codes for a server that cannot serve now but will: loading its data, a
  // replica after a failover, out of memory, a script running, a cluster or its
  // replication in trouble, a failed snapshot stopping writes.
  static constexpr std::string_view kPassing[] = {"LOADING",     "READONLY",   "OOM",
                                                  "BUSY",        "MASTERDOWN", "TRYAGAIN",
                                                  "CLUSTERDOWN", "NOREPLICAS", "MISCONF"};
  auto passing = [&](std::string_view code) {
    return std::find(std::begin(kPassing), std::end(kPassing), code) != std::end(kPassing);
  };
  if (passing(reply.substr(0, reply.find(' ')))) return true;
  // Before Redis 7 an error inside a script comes back as "ERR Error running script ...:
  // -READONLY ...": the code follows the last " -".
  if (!reply.starts_with("ERR Error running script")) return false;
  const size_t dash = reply.rfind(" -");
  if (dash == std::string_view::npos) return false;
  const std::string_view inner = reply.substr(dash + 2);
  return passing(inner.substr(0, inner.find(' ')));
}

RedisClient::RedisClient(RedisAddress address, double timeout_s)
    : address_(std::move(address)), timeout_s_(timeout_s) {
  connect();
}

RedisClient::~RedisClient() { disconnect(); }

void RedisClient::disconnect() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

void RedisClient::connect() {
  disconnect();
  const timeval tv = to_timeval(timeout_s_);
  redisContext* c = address_.socket_path.empty()
                        ? redisConnectWithTimeout(address_.host.c_str(), address_.port, tv)
                        : redisConnectUnixWithTimeout(address_.socket_path.c_str(), tv);
  if (!c) throw IoError("Redis " + address_.display + ": out of memory while connecting");
  if (c->err) {
    const std::string why = c->errstr;
    redisFree(c);
    throw IoError("Redis " + address_.display + ": cannot connect (" + why + ")");
  }
  redisSetTimeout(c, tv);
  ctx_ = c;
  try {
    if (!address_.password.empty()) command({"AUTH", address_.password});
    if (address_.db != 0) command({"SELECT", std::to_string(address_.db)});
  } catch (const IoError&) {
    throw;
  } catch (const Error& e) {
    disconnect();
    throw ConfigError("Redis " + address_.display + ": " + e.what());
  }
}

RedisReply RedisClient::command(const std::vector<std::string>& args) {
  if (!ctx_) connect();
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
  if (!reply) {
    const std::string why = ctx_->errstr;
    disconnect();  // the context is unusable after an I/O error
    throw IoError("Redis " + address_.display + ": " + args.at(0) + " failed (" + why + ")");
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    const std::string why(reply->str, reply->len);
    freeReplyObject(reply);
    const std::string message = "Redis " + address_.display + ": " + args.at(0) + ": " + why;
    if (server_state_error(why)) {
      disconnect();  // after a failover the name may lead to another server
      throw IoError(message);
    }
    throw Error(message);
  }
  RedisReply out = copy_reply(reply);
  freeReplyObject(reply);
  return out;
}

RedisReply RedisClient::eval(const std::string& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"EVAL", script, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return command(argv);
}

}  // namespace voiceman::distribute
