// scripts/bench's side of "upload of a 100 MB session vs curl -T": one file through the client's
// upload path (status request, chunks, completion), timed. The reference is curl -T of the same
// bytes to the same route.
//   upload_probe URL PROJECT TOKEN FILE SHA256 UPLOAD_ID   → prints seconds
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tracker-client/http_client.hpp"
#include "tracker-client/session_upload.hpp"

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: upload_probe URL PROJECT TOKEN FILE SHA256 UPLOAD_ID\n");
    return 2;
  }
  using namespace sddsh::tracker;
  HttpClient http(RemoteConfig{.url = argv[1], .project = argv[2], .token = argv[3], .ca_file = {},
                               .source = "upload_probe"});
  const UploadFile file{.name = "terminal.cast", .path = argv[4], .sha256 = argv[5],
                        .size = std::filesystem::file_size(argv[4])};
  const auto start = std::chrono::steady_clock::now();
  auto sent = upload_file(http, argv[6], file);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  if (!sent) {
    std::fprintf(stderr, "upload_probe: %s\n", sent.error().message.c_str());
    return 1;
  }
  std::printf("%.3f\n", took.count());
  return 0;
}
