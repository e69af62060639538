#pragma once
// What the server's tests share: the temporary dir and loopback server of tests/support, raw
// HTTP for requests a client library would tidy up, and a self-signed certificate made with libcrypto.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <nlohmann/json.hpp>

#include "shell/unique_fd.hpp"
#include "tests/support/loopback_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tracker-server/server.hpp"

namespace sddsh::server::testing {

using nlohmann::json;

using test_support::TempDir;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using RunningServer = test_support::LoopbackServer;

inline httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// Sends `request` as is over a fresh connection and returns the status line's code (0 when
// there was no answer) and the body.
inline std::pair<int, std::string> raw_http(int port, const std::string& request) {
  shell::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return {0, ""};
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return {0, ""};
  std::string reply;
  char buffer[4096];
  for (;;) {
    const auto got = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (got <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(got));
  }
  if (reply.size() < 12 || !reply.starts_with("HTTP/1.1 ")) return {0, reply};
  const auto body_at = reply.find("\r\n\r\n");
  return {std::stoi(reply.substr(9, 3)),
          body_at == std::string::npos ? "" : reply.substr(body_at + 4)};
}

// A GET of `target` exactly as written, with this token.
inline std::pair<int, std::string> raw_get(int port, const std::string& target,
                                           const std::string& token) {
  return raw_http(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                            token + "\r\nConnection: close\r\n\r\n");
}

// A self-signed certificate for 127.0.0.1 and localhost, with its key, as PEM files.
inline void make_self_signed_certificate(const std::string& cert_path,
                                         const std::string& key_path) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  ASSERT_TRUE(key && cert);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, decltype(&X509_EXTENSION_free)> san(
      X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"),
      X509_EXTENSION_free);
  ASSERT_TRUE(san);
  X509_add_ext(cert.get(), san.get(), -1);
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  std::unique_ptr<FILE, decltype(&std::fclose)> cert_file(std::fopen(cert_path.c_str(), "w"),
                                                          std::fclose);
  std::unique_ptr<FILE, decltype(&std::fclose)> key_file(std::fopen(key_path.c_str(), "w"),
                                                         std::fclose);
  ASSERT_TRUE(cert_file && key_file);
  ASSERT_EQ(PEM_write_X509(cert_file.get(), cert.get()), 1);
  ASSERT_EQ(PEM_write_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
}

}  // namespace sddsh::server::testing
