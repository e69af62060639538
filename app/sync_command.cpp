#include "app/sync_command.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/uploader.hpp"
#include "recorder/redaction.hpp"
#include "recorder/store.hpp"
#include "tracker-client/outbox.hpp"

extern char** environ;  // NOLINT: the process's environment, for redaction

namespace sddsh::app {

namespace {

constexpr int kBarWidth = 24;

std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, kUnits[unit]);
  return text;
}

int percent(const tracker::DrainProgress& progress) {
  if (progress.bytes_total == 0) return 100;
  return static_cast<int>(progress.bytes_done * 100 / progress.bytes_total);
}

// The progress of a drain: one line redrawn in place on a terminal; a plain line per file
// otherwise (a log stays readable); nothing when only the summary is wanted.
class ProgressView {
 public:
  enum class Mode : unsigned char { Redrawn, Lines, Silent };
  ProgressView(std::ostream& err, Mode mode) : err_(err), mode_(mode) {}

  void update(const tracker::DrainProgress& progress) {
    if (mode_ == Mode::Silent) return;
    const bool new_file = progress.item != item_ || progress.file != file_;
    const int now = percent(progress);
    if (!new_file && now == percent_) return;  // a redraw per percent, not per packet
    item_ = progress.item;
    file_ = progress.file;
    percent_ = now;
    if (mode_ == Mode::Redrawn)
      redraw(progress);
    else if (new_file && !progress.file.empty())
      err_ << "sync: " << counter(progress) << ' ' << progress.upload_id << ' ' << progress.file
           << " (" << now << "% of " << human_bytes(progress.bytes_total) << ")\n";
  }

  void finish() {
    if (mode_ == Mode::Redrawn && item_ != 0) err_ << "\r\x1b[K" << std::flush;
  }

 private:
  static std::string counter(const tracker::DrainProgress& progress) {
    return std::to_string(progress.item) + "/" + std::to_string(progress.items);
  }

  void redraw(const tracker::DrainProgress& progress) {
    const int filled = percent_ * kBarWidth / 100;
    err_ << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
         << std::string(static_cast<std::size_t>(kBarWidth - filled), ' ') << "] "
         << counter(progress) << "  " << human_bytes(progress.bytes_done) << '/'
         << human_bytes(progress.bytes_total) << "  " << percent_ << "%  " << progress.upload_id
         << (progress.file.empty() ? "" : " " + progress.file) << "\x1b[K" << std::flush;
  }

  std::ostream& err_;
  Mode mode_;
  std::size_t item_ = 0;
  std::string file_;
  int percent_ = -1;
};

struct SyncOutcome {
  tracker::DrainReport drain;
  std::vector<std::string> pack_errors;
  std::size_t queued = 0;  // left in the outbox, not counting the failed
};

std::string plural(std::size_t count, const char* one, const char* many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

std::string summary_line(const SyncOutcome& outcome) {
  const std::size_t failed = outcome.drain.failed.size() + outcome.pack_errors.size();
  std::string line = "sync: " + plural(outcome.drain.uploaded, "upload", "uploads") + " sent, " +
                     std::to_string(failed) + " failed";
  if (failed > 0) {
    line += ": " + (outcome.drain.failed.empty() ? outcome.pack_errors.front()
                                                 : outcome.drain.failed.front().message);
    if (failed > 1) line += " (and " + std::to_string(failed - 1) + " more)";
  }
  line += ", " + std::to_string(outcome.queued) + " queued";
  if (!outcome.drain.error.empty()) line += " (" + outcome.drain.error + ")";
  return line;
}

nlohmann::json summary_json(const SyncOutcome& outcome) {
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& failure : outcome.drain.failed)
    failed.push_back({{"upload_id", failure.upload_id}, {"message", failure.message}});
  return {{"uploaded", outcome.drain.uploaded},
          {"failed", std::move(failed)},
          {"pack_errors", outcome.pack_errors},
          {"queued", outcome.queued},
          {"server_down", outcome.drain.server_down},
          {"error", outcome.drain.error.empty() ? nlohmann::json(nullptr)
                                                : nlohmann::json(outcome.drain.error)}};
}

std::vector<std::string> process_environment() {
  std::vector<std::string> variables;
  for (char** variable = environ; variable && *variable; ++variable)
    variables.emplace_back(*variable);
  return variables;
}

Result<tracker::RemoteConfig> configured_remote(const SyncOptions& options) {
  if (options.remote) return *options.remote;
  auto loaded = tracker::load_remote_config(options.ca_file);
  if (!loaded) return Failure{loaded.error()};
  if (!*loaded)
    return Failure{Error{0,
                         "no remote tracker configured: set SDDSH_TRACKER_URL, "
                         "SDDSH_TRACKER_PROJECT and SDDSH_TRACKER_TOKEN (or tracker.* in " +
                             tracker::config_file_path() + ")"}};
  return **loaded;
}

Result<recorder::Store> sync_store(const SyncOptions& options) {
  if (options.store_root) return recorder::Store{*options.store_root, false};
  std::error_code error;
  const auto here = std::filesystem::current_path(error);
  if (error) return Failure{Error{error.value(), "the current directory: " + error.message()}};
  return recorder::locate_store(here.string());
}

Result<recorder::Redactor> sync_redactor(const SyncOptions& options) {
  auto patterns = tracker::load_redact_patterns();
  if (!patterns) return Failure{patterns.error()};
  return recorder::Redactor::create(options.environment.value_or(process_environment()), *patterns);
}

ProgressView::Mode progress_mode(const SyncOptions& options) {
  if (options.json || options.quiet) return ProgressView::Mode::Silent;
  const bool terminal = options.terminal.value_or(::isatty(STDERR_FILENO) == 1);
  return terminal ? ProgressView::Mode::Redrawn : ProgressView::Mode::Lines;
}

std::size_t queued_after(const tracker::DrainReport& report) {
  return report.remaining > report.failed.size() ? report.remaining - report.failed.size() : 0;
}

}  // namespace

int run_sync(const SyncOptions& options, std::ostream& out, std::ostream& err) {
  auto remote = configured_remote(options);
  if (!remote) {
    err << "sddsh sync: " << remote.error().message << "\n";
    return 2;
  }
  auto store = sync_store(options);
  if (!store) {
    err << "sddsh sync: " << store.error().message << "\n";
    return 2;
  }
  auto redactor = sync_redactor(options);
  if (!redactor) {
    err << "sddsh sync: redaction: " << redactor.error().message << "\n";
    return 2;
  }
  const tracker::Outbox outbox(store->root);
  SyncOutcome outcome;
  outcome.pack_errors = pack_missing(*store, *remote, outbox, *redactor).errors;
  if (!options.json)
    for (const auto& problem : outcome.pack_errors) err << "sddsh sync: " << problem << "\n";
  tracker::HttpClient http(*remote, options.policy);
  ProgressView view(err, progress_mode(options));
  tracker::DrainOptions drain;
  drain.on_outcome = record_outcome;
  drain.progress = [&view](const tracker::DrainProgress& progress) { view.update(progress); };
  outcome.drain = outbox.drain(http, drain);
  view.finish();
  outcome.queued = queued_after(outcome.drain);
  if (options.json)
    out << summary_json(outcome).dump() << "\n";
  else
    out << summary_line(outcome) << "\n";
  const bool clean = outcome.drain.remaining == 0 && outcome.pack_errors.empty();
  return clean ? 0 : 1;
}

int run_sync(const SyncCommand& command) {
  SyncOptions options;
  options.json = command.json;
  options.ca_file = command.ca_file;
  return run_sync(options, std::cout, std::cerr);
}

}  // namespace sddsh::app
