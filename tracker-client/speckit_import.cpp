#include "tracker-client/speckit_import.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace sddsh::tracker {

namespace {

// ---------------------------------------------------------------------------------------------
// Text helpers. Everything works on bytes: a tasks.md is UTF-8, but the parser must survive any
// input, and every marker it looks for is ASCII.

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
char to_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
// Bytes of multi-byte UTF-8 characters count as separators, so that "T012🎯" still names T012.
bool is_word(char c) {
  return is_digit(c) || (to_lower(c) >= 'a' && to_lower(c) <= 'z') || c == '_';
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = to_lower(c);
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_blank(text.front()) || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool word_boundary_before(std::string_view text, std::size_t at) {
  return at == 0 || !is_word(text[at - 1]);
}

bool starts_with_word(std::string_view lower_text, std::string_view word) {
  return lower_text.starts_with(word) &&
         (lower_text.size() == word.size() || !is_word(lower_text[word.size()]));
}

void skip_blanks(std::string_view text, std::size_t& at) {
  while (at < text.size() && is_blank(text[at])) ++at;
}

// A whole number of at most 9 digits at `at` (longer is nobody's task number), advancing past it.
std::optional<int> read_number(std::string_view text, std::size_t& at) {
  std::size_t end = at;
  while (end < text.size() && is_digit(text[end])) ++end;
  if (end == at || end - at > 9 || (end < text.size() && is_word(text[end]))) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < end; ++i) value = value * 10 + (text[i] - '0');
  at = end;
  return value;
}

// What may stand between "Tasks" or "Phase 3" and the rest: ':', '.', '-', an en or em dash.
void skip_separator(std::string_view text, std::size_t& at) {
  skip_blanks(text, at);
  std::string_view rest = text.substr(std::min(at, text.size()));
  if (rest.starts_with(":") || rest.starts_with(".") || rest.starts_with("-"))
    at += 1;
  else if (rest.starts_with("\xe2\x80\x93") || rest.starts_with("\xe2\x80\x94"))
    at += 3;
  skip_blanks(text, at);
}

// Code spans (`like_this.py`) hold file names, never references: blank them out, keeping offsets.
std::string mask_code_spans(std::string_view text) {
  std::string out(text);
  bool in_code = false;
  for (char& c : out) {
    if (c == '`')
      in_code = !in_code;
    else if (in_code)
      c = ' ';
  }
  return out;
}

std::string story_name(int number) {
  return "US" + std::to_string(number);
}

struct StoryMention {
  int number = 0;
  std::size_t end = 0;
};

// "user story 3", "us3" or "us 3" at `at` of a lowercased text.
std::optional<StoryMention> story_at(std::string_view lower, std::size_t at) {
  if (!word_boundary_before(lower, at)) return std::nullopt;
  std::string_view rest = lower.substr(at);
  std::size_t word = 0;
  if (rest.starts_with("user story"))
    word = 10;
  else if (rest.starts_with("us"))
    word = 2;
  else
    return std::nullopt;
  std::size_t digits = word;
  skip_blanks(rest, digits);
  if (word == 10 && digits == word) return std::nullopt;  // "user story3" is nobody's spelling
  auto number = read_number(rest, digits);
  if (!number) return std::nullopt;
  return StoryMention{*number, at + digits};
}

// ---------------------------------------------------------------------------------------------
// Phases.

struct PhaseClass {
  PhaseKind kind = PhaseKind::Other;
  std::string story;
};

// Whichever marker comes first in the title decides: "User Story 2 - Setup wizard" is a story.
PhaseClass classify_phase(std::string_view title) {
  const std::string lower = lowercase(title);
  for (std::size_t at = 0; at < lower.size(); ++at) {
    if (!word_boundary_before(lower, at)) continue;
    std::string_view rest = std::string_view(lower).substr(at);
    if (auto story = story_at(lower, at)) return {PhaseKind::Story, story_name(story->number)};
    if (rest.starts_with("setup")) return {PhaseKind::Setup, {}};
    if (rest.starts_with("foundation")) return {PhaseKind::Foundational, {}};
    if (rest.starts_with("polish") || rest.starts_with("cross-cutting") ||
        rest.starts_with("cross cutting"))
      return {PhaseKind::Polish, {}};
  }
  return {};
}

// "(Priority: P1)" or "(P1)" anywhere in a heading: 1, clamped to the tracker's 0..4.
std::optional<int> explicit_priority(std::string_view heading) {
  const std::string lower = lowercase(heading);
  for (std::string_view marker : {"priority:", "(p"}) {
    for (std::size_t at = lower.find(marker); at != std::string::npos;
         at = lower.find(marker, at + 1)) {
      std::size_t digits = at + marker.size();
      skip_blanks(lower, digits);
      if (marker == "priority:" && digits < lower.size() && lower[digits] == 'p') ++digits;
      if (auto number = read_number(lower, digits)) return std::clamp(*number, 0, 4);
    }
  }
  return std::nullopt;
}

// The heading without its priority annotation and what follows it ("(Priority: P1) 🎯 MVP").
std::string phase_title(std::string_view heading) {
  std::size_t cut = lowercase(heading).find("(priority");
  return std::string(trim(heading.substr(0, std::min(cut, heading.size()))));
}

// A level-2 or -3 heading that opens a phase: "Phase 3: …", "Phase 3.1 - …", or (level 2 only,
// since level 3 inside a phase says "Tests for User Story 1") a bare "Setup", "Foundational …",
// "User Story 2 …", "Polish …".
bool is_phase_heading(int level, std::string_view text) {
  const std::string lower = lowercase(text);
  if (starts_with_word(lower, "phase")) {
    std::size_t at = 5;
    skip_blanks(lower, at);
    return at > 5 && at < lower.size() && is_digit(lower[at]);
  }
  if (level != 2) return false;
  return story_at(lower, 0) || starts_with_word(lower, "setup") ||
         lower.starts_with("foundation") || starts_with_word(lower, "polish");
}

// The phase kinds' order: each phase waits for every phase of the nearest earlier tier.
int tier(PhaseKind kind) {
  switch (kind) {
    case PhaseKind::Setup:
      return 0;
    case PhaseKind::Foundational:
      return 1;
    case PhaseKind::Story:
    case PhaseKind::Other:
      return 2;
    case PhaseKind::Polish:
      return 3;
  }
  return 2;
}

// ---------------------------------------------------------------------------------------------
// Checklist lines: "- [ ] T012 [P] [US1] Description".

struct Checklist {
  bool indented = false;
  char mark = ' ';
  std::string_view rest;  // after the "]"
};

std::optional<Checklist> read_checklist(std::string_view line) {
  std::size_t at = 0;
  skip_blanks(line, at);
  Checklist out;
  out.indented = at > 0;
  if (at >= line.size() || (line[at] != '-' && line[at] != '*' && line[at] != '+'))
    return std::nullopt;
  std::size_t box = ++at;
  skip_blanks(line, box);
  if (box == at || line.size() < box + 3 || line[box] != '[' || line[box + 2] != ']')
    return std::nullopt;
  out.mark = line[box + 1];
  out.rest = line.substr(box + 3);
  return out;
}

struct TaskLine {
  std::string task_id;
  int number = 0;
  bool parallel = false;
  std::string story;
  std::string description;
  std::string error;  // set: the line is skipped with this message
};

// "T012", "**T012**" or "T012:" at `at`, advancing past it.
bool read_task_id(std::string_view text, std::size_t& at, TaskLine& task) {
  std::size_t start = at;
  if (text.substr(start).starts_with("**")) start += 2;
  if (start >= text.size() || text[start] != 'T') return false;
  std::size_t end = start + 1;
  auto number = read_number(text, end);
  if (!number) return false;
  task.task_id = std::string(text.substr(start, end - start));
  task.number = *number;
  if (text.substr(end).starts_with("**")) end += 2;
  if (end < text.size() && text[end] == ':') ++end;
  at = end;
  return true;
}

// A leading "[P]" or "[US1]" tag. Another bracketed word is an error; a Markdown link
// "[text](url)" is no tag at all: the description starts there.
bool read_tag(std::string_view text, std::size_t& at, TaskLine& task) {
  std::size_t close = text.find(']', at);
  if (close == std::string_view::npos || (close + 1 < text.size() && text[close + 1] == '('))
    return false;
  const std::string tag(trim(text.substr(at + 1, close - at - 1)));
  const std::string lower = lowercase(tag);
  if (lower == "p") {
    task.parallel = true;
  } else if (auto story = story_at(lower, 0); story && story->end == lower.size()) {
    task.story = story_name(story->number);
  } else {
    task.error = "unknown tag [" + tag + "]; skipped";
    return false;
  }
  at = close + 1;
  return true;
}

// Tags may stand before or after the T-id; the description is whatever follows them.
TaskLine read_task_line(std::string_view rest) {
  TaskLine task;
  std::size_t at = 0;
  for (;;) {
    skip_blanks(rest, at);
    bool more = at < rest.size() && rest[at] == '['
                    ? read_tag(rest, at, task)
                    : task.task_id.empty() && read_task_id(rest, at, task);
    if (!more) break;
  }
  if (!task.error.empty()) return task;
  task.description = std::string(trim(rest.substr(at)));
  if (task.task_id.empty())
    task.error = "checklist line without a task id (T###); skipped";
  else if (task.description.empty())
    task.error = task.task_id + " has no description; skipped";
  return task;
}

// ---------------------------------------------------------------------------------------------
// Dependency prose: "depends on T012, T013", "blocked by T004-T007", "Depends on US1 and US2",
// "T008 blocks T009", "Tests (T004-T007) before implementation (T008-T014)".

struct Mention {
  std::size_t at = 0;
  std::vector<std::string> refs;  // "T012" (a range gives several) or "US1"
};

struct Keyword {
  std::size_t at = 0, end = 0;
  bool reverse = false;  // "X blocks Y": Y waits for X
};

constexpr int kLongestRange = 500;
// Bounds for hostile or broken files; a real tasks.md has a few hundred of each at most.
constexpr std::size_t kMostRefsPerSentence = 5000;
constexpr std::size_t kMostSaidBlocks = 10000;
constexpr std::size_t kMostBlocks = 20000;

// The number of the second id of "T004-T007", "T004–T007" or "T004..T007" when `at` is just
// past the first one.
std::optional<int> range_end(std::string_view text, std::size_t& at) {
  std::string_view rest = text.substr(at);
  std::size_t dash = rest.starts_with("-")              ? 1
                     : rest.starts_with("..")           ? 2
                     : rest.starts_with("\xe2\x80\x93") ? 3
                                                        : 0;
  if (dash == 0 || rest.size() <= dash || rest[dash] != 'T') return std::nullopt;
  std::size_t next = at + dash + 1;
  auto number = read_number(text, next);
  if (number) at = next;
  return number;
}

std::string task_id_like(int number, std::size_t width) {
  std::string digits = std::to_string(number);
  if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
  return "T" + digits;
}

// The T-ids a mention at `at` names (several for a range, within `budget`), advancing past it.
std::optional<Mention> task_mention(std::string_view text, std::size_t& at, std::size_t budget) {
  if (text[at] != 'T' || !word_boundary_before(text, at)) return std::nullopt;
  std::size_t next = at + 1;
  auto first = read_number(text, next);
  if (!first) return std::nullopt;
  Mention mention{at, {std::string(text.substr(at, next - at))}};
  const std::size_t width = next - at - 1;
  if (auto last = range_end(text, next); last && *last > *first && *last - *first < kLongestRange)
    for (int number = *first + 1; number <= *last && mention.refs.size() < budget; ++number)
      mention.refs.push_back(task_id_like(number, width));
  at = next;
  return mention;
}

// Task and story mentions in order of position, at most kMostRefsPerSentence references
// (`cut` when there were more).
std::vector<Mention> find_mentions(std::string_view text, bool& cut) {
  const std::string lower = lowercase(text);
  std::vector<Mention> mentions;
  std::size_t refs = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (refs >= kMostRefsPerSentence) {
      cut = true;
      break;
    }
    if (auto task = task_mention(text, at, kMostRefsPerSentence - refs)) {
      refs += task->refs.size();
      mentions.push_back(std::move(*task));
    } else if (auto story = story_at(lower, at)) {
      ++refs;
      mentions.push_back({at, {story_name(story->number)}});
      at = story->end;
    } else {
      ++at;
    }
  }
  return mentions;
}

std::vector<Keyword> find_keywords(std::string_view text) {
  static constexpr std::pair<std::string_view, bool> kKeywords[] = {
      {"depends on", false}, {"depend on", false}, {"dependent on", false}, {"blocked by", false},
      {"requires", false},   {"after", false},     {"blocks", true},        {"before", true}};
  const std::string lower = lowercase(text);
  std::vector<Keyword> found;
  for (std::size_t at = 0; at < lower.size(); ++at) {
    if (!word_boundary_before(lower, at)) continue;
    for (auto [word, reverse] : kKeywords) {
      if (starts_with_word(std::string_view(lower).substr(at), word)) {
        found.push_back({at, at + word.size(), reverse});
        break;
      }
    }
  }
  return found;
}

// What one keyword governs: the text from it to the next keyword, or to the ")" that closes a
// parenthesis the keyword stands in ("T014 Wire it up (depends on T012) in main.py").
struct Clause {
  std::size_t from = 0, to = 0;
  bool reverse = false;
};

// One pass over the sentence: parenthesis depth is carried from keyword to keyword.
std::vector<Clause> clauses(std::string_view text, const std::vector<Keyword>& keywords) {
  std::vector<Clause> out;
  int depth = 0;
  std::size_t at = 0;
  for (std::size_t k = 0; k < keywords.size(); ++k) {
    for (; at < keywords[k].at; ++at) {
      if (text[at] == '(')
        ++depth;
      else if (text[at] == ')' && depth > 0)
        --depth;
    }
    const std::size_t next = k + 1 < keywords.size() ? keywords[k + 1].at : text.size();
    Clause clause{keywords[k].end, next, keywords[k].reverse};
    int inner = 0;
    for (std::size_t i = keywords[k].end; i < next && depth > 0; ++i) {
      if (text[i] == '(')
        ++inner;
      else if (text[i] == ')' && inner-- == 0) {
        clause.to = i;
        break;
      }
    }
    out.push_back(clause);
  }
  return out;
}

// The references of the mentions within [from, to), each once, in order.
std::vector<std::string> refs_between(const std::vector<Mention>& mentions, std::size_t from,
                                      std::size_t to) {
  auto first = std::partition_point(mentions.begin(), mentions.end(),
                                    [&](const Mention& m) { return m.at < from; });
  std::vector<std::string> refs;
  std::set<std::string> seen;
  for (auto it = first; it != mentions.end() && it->at < to; ++it)
    for (const auto& ref : it->refs)
      if (seen.insert(ref).second) refs.push_back(ref);
  return refs;
}

// Sentences, so that "US3 depends on US1. US4 depends on US2." has two subjects.
std::vector<std::string_view> sentences(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool full_stop = text[i] == '.' && (i + 1 == text.size() || is_blank(text[i + 1]));
    if (full_stop || text[i] == ';') {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(text.substr(start));
  return out;
}

// A dependency as the prose states it, before its references are resolved.
struct SaidBlock {
  std::string blocked, blocker;  // "T014" or "US2"
  int line = 0;
};

// Who a sentence's "depends on …" speaks of: the task of a task line always; in the
// dependencies section whatever the sentence names first, else what the line named before.
struct Subject {
  std::vector<std::string> refs;
  bool fixed = false;
};

void read_sentence(std::string_view sentence, Subject& subject, int line,
                   std::vector<SaidBlock>& out, bool& cut) {
  const auto keywords = find_keywords(sentence);
  if (keywords.empty()) return;
  const auto mentions = find_mentions(sentence, cut);
  if (auto named = refs_between(mentions, 0, keywords.front().at); !named.empty() && !subject.fixed)
    subject.refs = std::move(named);
  for (const Clause& clause : clauses(sentence, keywords)) {
    for (const auto& other : refs_between(mentions, clause.from, clause.to)) {
      for (const auto& self : subject.refs) {
        if (out.size() >= kMostSaidBlocks) return;
        if (clause.reverse)
          out.push_back({other, self, line});
        else
          out.push_back({self, other, line});
      }
    }
  }
}

// False when a sentence named more tasks than the importer reads.
bool read_prose(std::string_view text, Subject subject, int line, std::vector<SaidBlock>& out) {
  const std::string masked = mask_code_spans(text);
  bool cut = false;
  for (std::string_view sentence : sentences(masked))
    read_sentence(sentence, subject, line, out, cut);
  return !cut;
}

// ---------------------------------------------------------------------------------------------
// The blocking graph of a plan, to refuse an edge that would make work wait for itself. It
// follows the ready rule: a task can start when its own blockers and its phase's blockers
// (blocking is inherited) are done; a phase is done when it has started and its tasks are done.
// So each phase has two nodes: "done" (waits for its start and its tasks) and "start" (waits
// for the phase's blockers; every task of the phase waits for it).

class WaitGraph {
 public:
  explicit WaitGraph(const ImportPlan& plan) : phases_(plan.phases.size()) {
    waits_.resize(2 * phases_);
    for (std::size_t p = 0; p < phases_; ++p) {
      waits_[p].push_back(start_node(p));  // done only once started, even without tasks
      for (const auto& task : plan.phases[p].tasks) {
        task_nodes_[task.task_id] = waits_.size();
        waits_[p].push_back(waits_.size());  // the phase is done when its tasks are
        waits_.push_back({start_node(p)});   // a task starts when its phase may
      }
    }
    seen_.resize(waits_.size());
  }

  // Adds "`blocked` waits for `blocker`". With `check`, refuses (false) an edge that closes a
  // cycle; the phase order needs no check, as it only ever points back to earlier tiers.
  bool add(const PlanRef& blocked, const PlanRef& blocker, bool check) {
    const std::size_t from = hang_node(blocked), to = done_node(blocker);
    if (check && reaches(to, from)) return false;
    waits_[from].push_back(to);
    return true;
  }

 private:
  std::size_t start_node(std::size_t phase) const { return phases_ + phase; }
  std::size_t done_node(const PlanRef& ref) const {
    return ref.task_id.empty() ? ref.phase : task_nodes_.at(ref.task_id);
  }
  // Where an edge that holds `ref` back attaches: a phase's blockers hold back its start.
  std::size_t hang_node(const PlanRef& ref) const {
    return ref.task_id.empty() ? start_node(ref.phase) : task_nodes_.at(ref.task_id);
  }

  bool reaches(std::size_t from, std::size_t target) {
    ++epoch_;
    std::vector<std::size_t> todo{from};
    seen_[from] = epoch_;
    while (!todo.empty()) {
      const std::size_t node = todo.back();
      todo.pop_back();
      if (node == target) return true;
      for (std::size_t next : waits_[node])
        if (seen_[next] != epoch_) seen_[next] = epoch_, todo.push_back(next);
    }
    return false;
  }

  std::size_t phases_;
  std::vector<std::vector<std::size_t>> waits_;  // node → nodes it waits for
  std::map<std::string, std::size_t> task_nodes_;
  std::vector<unsigned> seen_;  // == epoch_: visited by the current search
  unsigned epoch_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The line-by-line reader.

class TasksMdReader {
 public:
  explicit TasksMdReader(ImportPlan& plan) : plan_(plan) {}

  void read_line(std::string_view line, int number) {
    line_ = number;
    if (toggles_fence(line)) {
      in_fence_ = !in_fence_;
      return;
    }
    if (in_fence_) return;
    if (auto heading = read_heading(line)) return on_heading(heading->first, heading->second);
    if (auto checklist = read_checklist(line)) return on_checklist(*checklist, line);
    on_text(line);
  }

  void finish() {
    assign_default_priorities();
    add_phase_order();
    resolve_said_blocks();
  }

 private:
  enum class Section : unsigned char { Other, Phase, Dependencies };

  static bool toggles_fence(std::string_view line) {
    std::string_view text = trim(line);
    return text.starts_with("```") || text.starts_with("~~~");
  }

  static std::optional<std::pair<int, std::string_view>> read_heading(std::string_view line) {
    std::size_t at = 0;
    while (at < line.size() && at < 3 && line[at] == ' ') ++at;
    std::size_t hashes = at;
    while (hashes < line.size() && line[hashes] == '#') ++hashes;
    const int level = static_cast<int>(hashes - at);
    if (level == 0 || level > 6 || (hashes < line.size() && !is_blank(line[hashes])))
      return std::nullopt;
    return std::pair{level, trim(line.substr(hashes))};
  }

  void on_heading(int level, std::string_view text) {
    in_task_ = false;
    if (level == 1) {
      section_ = Section::Other;  // a second "# …" ends the phases too
      return on_title(text);
    }
    if (is_phase_heading(level, text)) return open_phase(text);
    if (level > 2) return;  // "### Implementation for User Story 1" stays in its section
    section_ = lowercase(text).find("dependenc") != std::string::npos ? Section::Dependencies
                                                                      : Section::Other;
  }

  void on_title(std::string_view text) {
    if (!plan_.title.empty()) return;
    if (starts_with_word(lowercase(text), "tasks")) {
      std::size_t at = 5;
      skip_separator(text, at);
      text = text.substr(at);
    }
    plan_.title = std::string(trim(text));
  }

  void open_phase(std::string_view heading) {
    PlannedPhase phase;
    phase.title = phase_title(heading);
    PhaseClass found = classify_phase(phase.title);
    phase.kind = found.kind;
    phase.story = std::move(found.story);
    phase.line = line_;
    auto priority = explicit_priority(heading);
    if (priority) phase.priority = *priority;
    priority_given_.push_back(priority.has_value());
    plan_.phases.push_back(std::move(phase));
    section_ = Section::Phase;
  }

  void on_checklist(const Checklist& checklist, std::string_view line) {
    TaskLine task = read_task_line(checklist.rest);
    // A checklist item without a T-id is no task when it is a sub-item of the task above, or a
    // note outside the phases (older templates end with a "Validation Checklist").
    if (task.task_id.empty() && (section_ != Section::Phase || checklist.indented))
      return on_text(line);
    in_task_ = false;
    if (!task.error.empty()) return problem(task.error);
    if (checklist.mark != ' ' && checklist.mark != 'x' && checklist.mark != 'X')
      return problem(task.task_id + ": unknown checkbox [" + std::string(1, checklist.mark) +
                     "] (use [ ] or [x]); skipped");
    if (section_ != Section::Phase)
      return problem(task.task_id + " is not under a '## Phase' heading; skipped");
    if (auto seen = task_lines_.find(task.number); seen != task_lines_.end())
      return problem(task.task_id + " appears twice (first on line " +
                     std::to_string(seen->second) + "); skipped");
    add_task(std::move(task), checklist.mark != ' ');
  }

  // Dependencies the prose states, up to a bound (said so once when reached).
  void read_dependencies(std::string_view text, Subject subject) {
    if (said_.size() >= kMostSaidBlocks) return;
    if (!read_prose(text, std::move(subject), line_, said_))
      problem("more than " + std::to_string(kMostRefsPerSentence) +
              " task references in one sentence; the rest are skipped");
    if (said_.size() >= kMostSaidBlocks)
      problem("more than " + std::to_string(kMostSaidBlocks) +
              " dependencies in prose; the rest are skipped");
  }

  void add_task(TaskLine line_task, bool done) {
    task_lines_[line_task.number] = line_;
    task_ids_[line_task.number] = line_task.task_id;
    read_dependencies(line_task.description, {{line_task.task_id}, true});
    plan_.phases.back().tasks.push_back({line_task.task_id, std::move(line_task.description), "",
                                         done, line_task.parallel, line_task.story, line_});
    in_task_ = true;
  }

  void on_text(std::string_view line) {
    std::string_view text = trim(line);
    if (text.empty()) return;
    if (in_task_ && is_blank(line.front())) return continue_task(text);
    in_task_ = false;
    if (section_ == Section::Dependencies) read_dependencies(text, {});
  }

  // An indented line under a task line: part of its description, and maybe a dependency.
  void continue_task(std::string_view text) {
    PlannedTask& task = plan_.phases.back().tasks.back();
    if (!task.description.empty()) task.description += '\n';
    task.description += text;
    read_dependencies(text, {{task.task_id}, true});
  }

  void problem(std::string message) { plan_.problems.push_back({line_, std::move(message)}); }

  // Setup and Foundational are as urgent as the most urgent story they unlock; Polish waits for
  // every story, so it is as urgent as the least urgent one. A priority the heading gives wins.
  void assign_default_priorities() {
    int most = 4, least = 0;
    for (const auto& phase : plan_.phases) {
      if (phase.kind != PhaseKind::Story) continue;
      most = std::min(most, phase.priority);
      least = std::max(least, phase.priority);
    }
    if (most > least) most = 1, least = 3;  // no stories
    for (std::size_t i = 0; i < plan_.phases.size(); ++i) {
      PlannedPhase& phase = plan_.phases[i];
      if (priority_given_[i]) continue;
      if (phase.kind == PhaseKind::Setup || phase.kind == PhaseKind::Foundational)
        phase.priority = most;
      else if (phase.kind == PhaseKind::Polish)
        phase.priority = least;
    }
  }

  // Setup blocks Foundational, Foundational every story, every story Polish; a tier that is
  // missing is skipped over. Phases the reader does not recognize stand with the stories but,
  // unlike stories, follow each other in file order.
  void add_phase_order() {
    graph_.emplace(plan_);
    const auto& phases = plan_.phases;
    std::vector<std::size_t> tiers[4];
    for (std::size_t p = 0; p < phases.size(); ++p) tiers[tier(phases[p].kind)].push_back(p);
    for (std::size_t p = 0; p < phases.size(); ++p) {
      for (int earlier = tier(phases[p].kind) - 1; earlier >= 0; --earlier) {
        if (tiers[earlier].empty()) continue;
        for (std::size_t blocker : tiers[earlier])
          if (!add_block({{}, p}, {{}, blocker}, phases[p].line, false)) return;
        break;
      }
      if (p > 0 && phases[p].kind == PhaseKind::Other && phases[p - 1].kind == PhaseKind::Other)
        if (!add_block({{}, p}, {{}, p - 1}, phases[p].line, false)) return;
    }
  }

  void resolve_said_blocks() {
    for (const auto& said : said_) {
      line_ = said.line;
      auto blocked = resolve(said.blocked);
      auto blocker = resolve(said.blocker);
      for (const auto& a : blocked)
        for (const auto& b : blocker)
          if (!add_block(a, b, said.line, true)) return;
    }
  }

  // A prose reference → the tasks or phases it names; a problem when it names nothing here.
  std::vector<PlanRef> resolve(const std::string& ref) {
    std::vector<PlanRef> found;
    if (ref.starts_with("T")) {
      std::size_t at = 1;
      auto number = read_number(ref, at);
      if (auto id = task_ids_.find(number.value_or(-1)); id != task_ids_.end())
        found.push_back({id->second, 0});
    } else {
      for (std::size_t p = 0; p < plan_.phases.size(); ++p)
        if (plan_.phases[p].story == ref) found.push_back({{}, p});
    }
    if (found.empty() && unknown_refs_.insert({line_, ref}).second)
      problem(ref + (ref.starts_with("T") ? " is not a task" : " is not a user story phase") +
              " of this file; the dependency on it is skipped");
    return found;
  }

  // False once the plan holds all the edges it may (after saying so).
  bool add_block(const PlanRef& blocked, const PlanRef& blocker, int line, bool check_cycle) {
    if (plan_.blocks.size() >= kMostBlocks) {
      line_ = line;
      problem("more than " + std::to_string(kMostBlocks) + " dependencies; the rest are skipped");
      return false;
    }
    if (!block_keys_.insert({key(blocked), key(blocker)}).second) return true;
    if (!graph_->add(blocked, blocker, check_cycle)) {
      line_ = line;
      problem(name(blocked) + " depending on " + name(blocker) +
              " would make it wait for itself; skipped");
      return true;
    }
    plan_.blocks.push_back({blocked, blocker, line});
    return true;
  }

  static std::string key(const PlanRef& ref) {
    return ref.task_id.empty() ? "#" + std::to_string(ref.phase) : ref.task_id;
  }

  std::string name(const PlanRef& ref) const {
    if (!ref.task_id.empty()) return ref.task_id;
    const PlannedPhase& phase = plan_.phases[ref.phase];
    return phase.story.empty() ? "'" + phase.title + "'" : phase.story;
  }

  ImportPlan& plan_;
  int line_ = 0;
  bool in_fence_ = false;
  bool in_task_ = false;  // indented lines continue the last task
  Section section_ = Section::Other;
  std::map<int, int> task_lines_;        // task number → its line
  std::map<int, std::string> task_ids_;  // task number → T-id as written
  std::vector<bool> priority_given_;     // per phase
  std::vector<SaidBlock> said_;
  std::set<std::pair<int, std::string>> unknown_refs_;  // reported once per line
  std::set<std::pair<std::string, std::string>> block_keys_;
  std::optional<WaitGraph> graph_;
};

}  // namespace

bool PlannedPhase::done() const {
  return !tasks.empty() &&
         std::all_of(tasks.begin(), tasks.end(), [](const PlannedTask& t) { return t.done; });
}

bool ImportPlan::done() const {
  return !phases.empty() &&
         std::all_of(phases.begin(), phases.end(), [](const PlannedPhase& p) { return p.done(); });
}

int ImportPlan::priority() const {
  int most = phases.empty() ? 2 : 4;
  for (const auto& phase : phases) most = std::min(most, phase.priority);
  return most;
}

std::size_t ImportPlan::task_count() const {
  std::size_t count = 0;
  for (const auto& phase : phases) count += phase.tasks.size();
  return count;
}

ImportPlan parse_tasks_md(std::string_view text, const std::string& spec_dir) {
  ImportPlan plan;
  plan.spec_dir = spec_dir;
  TasksMdReader reader(plan);
  int number = 0;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    reader.read_line(text.substr(start, end - start), ++number);
    start = end + 1;
  }
  reader.finish();
  std::stable_sort(plan.problems.begin(), plan.problems.end(),
                   [](const ImportProblem& a, const ImportProblem& b) { return a.line < b.line; });
  if (plan.title.empty()) {
    std::size_t slash = spec_dir.find_last_of('/');
    plan.title = slash == std::string::npos ? spec_dir : spec_dir.substr(slash + 1);
  }
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Applying a plan to a tracker.

namespace {

constexpr const char* kTickedReason = "ticked in tasks.md";
constexpr const char* kPhaseDoneReason = "every task of the phase is closed";

// What a feature keeps when its heading is reworded: its story, or its kind ("" for others).
std::string phase_key(std::string_view title) {
  PhaseClass found = classify_phase(title);
  switch (found.kind) {
    case PhaseKind::Story:
      return found.story;
    case PhaseKind::Setup:
      return "setup";
    case PhaseKind::Foundational:
      return "foundational";
    case PhaseKind::Polish:
      return "polish";
    case PhaseKind::Other:
      return "";
  }
  return "";
}

bool is_closed(const Task& task) {
  return task.status == Status::Closed;
}

// The fields the file owns that the tracker has otherwise. Status is not among them: the file
// may close an issue, never reopen it (an agent may well have closed a task the file still
// shows open).
TaskChange fields_to_change(const Task& have, const NewTask& want) {
  TaskChange change;
  if (have.title != want.title) change.title = want.title;
  if (have.priority != want.priority) change.priority = want.priority;
  if (have.parallel != want.parallel) change.parallel = want.parallel;
  if (have.spec_ref != want.spec_ref) change.spec_ref = want.spec_ref;
  return change;
}

bool changes_anything(const TaskChange& change) {
  return change.title || change.priority || change.parallel || change.spec_ref;
}

// Whether an epic or feature differs between before and after the import.
bool group_changed(const Task& before, const Task& after) {
  return changes_anything(fields_to_change(before, NewTask{.title = after.title,
                                                           .priority = after.priority,
                                                           .spec_ref = after.spec_ref,
                                                           .parallel = after.parallel})) ||
         is_closed(before) != is_closed(after);
}

Failure import_failure(const std::string& doing, const Error& error) {
  return Failure{Error{error.code, doing + ": " + error.message}};
}

class Importer {
 public:
  Importer(Tracker& tracker, const ImportPlan& plan) : tracker_(tracker), plan_(plan) {}

  Result<ImportReport> run() {
    report_.problems = plan_.problems;
    for (auto step : {&Importer::load_existing, &Importer::import_epic, &Importer::import_features,
                      &Importer::import_tasks, &Importer::settle_features, &Importer::settle_epic,
                      &Importer::add_blocks}) {
      if (auto done = (this->*step)(); !done) return Failure{done.error()};
    }
    find_vanished();
    std::stable_sort(
        report_.problems.begin(), report_.problems.end(),
        [](const ImportProblem& a, const ImportProblem& b) { return a.line < b.line; });
    return report_;
  }

 private:
  // What the tracker already holds for this spec dir.
  Result<void> load_existing() {
    auto all = tracker_.list({.include_closed = true});
    if (!all) return import_failure("listing the tracker's tasks", all.error());
    for (auto& task : *all) {
      if (!task.spec_ref || task.spec_ref->dir != plan_.spec_dir) continue;
      if (!task.spec_ref->task_id.empty()) {
        tasks_before_.emplace(task.spec_ref->task_id, std::move(task));
      } else if (task.issue_type == IssueType::Epic) {
        if (!epic_before_) epic_before_ = std::move(task);
      } else if (task.issue_type == IssueType::Feature) {
        features_before_.push_back(std::move(task));
      }
    }
    return {};
  }

  Result<void> import_epic() {
    NewTask want{.title = plan_.title,
                 .issue_type = IssueType::Epic,
                 .status = plan_.done() ? Status::Closed : Status::Open,
                 .priority = plan_.priority(),
                 .spec_ref = SpecRef{plan_.spec_dir, "", ""}};
    auto id = create_or_change(epic_before_, want);
    if (!id) return Failure{id.error()};
    report_.epic_id = *id;
    return {};
  }

  Result<void> import_features() {
    auto before = match_features();
    for (std::size_t p = 0; p < plan_.phases.size(); ++p) {
      const PlannedPhase& phase = plan_.phases[p];
      NewTask want{.title = phase.title,
                   .issue_type = IssueType::Feature,
                   .status = phase.done() ? Status::Closed : Status::Open,
                   .priority = phase.priority,
                   .spec_ref = SpecRef{plan_.spec_dir, "", phase.title},
                   .parent = report_.epic_id};
      auto id = create_or_change(before[p], want);
      if (!id) return Failure{id.error()};
      feature_ids_.push_back(*id);
      features_before_by_id_.emplace(*id, before[p]);
      if (before[p]) {
        if (auto parent = ensure_parent(*id, report_.epic_id, phase.line, phase.title); !parent)
          return parent;
      }
    }
    return {};
  }

  // Each phase's feature as the tracker has it: the one with the same heading, else (a heading
  // reworded) the one of the same story or kind.
  std::vector<std::optional<Task>> match_features() const {
    std::vector<std::optional<Task>> matched(plan_.phases.size());
    std::vector<bool> taken(features_before_.size(), false);
    auto match = [&](auto same) {
      for (std::size_t p = 0; p < plan_.phases.size(); ++p) {
        for (std::size_t f = 0; f < features_before_.size() && !matched[p]; ++f) {
          if (taken[f] || !same(plan_.phases[p].title, features_before_[f].spec_ref->phase))
            continue;
          matched[p] = features_before_[f];
          taken[f] = true;
        }
      }
    };
    match([](const std::string& a, const std::string& b) { return a == b; });
    match([](const std::string& a, const std::string& b) {
      return !phase_key(a).empty() && phase_key(a) == phase_key(b);
    });
    return matched;
  }

  Result<void> import_tasks() {
    for (std::size_t p = 0; p < plan_.phases.size(); ++p) {
      for (const auto& task : plan_.phases[p].tasks) {
        if (auto done = import_task(task, p); !done) return done;
      }
    }
    return {};
  }

  Result<void> import_task(const PlannedTask& task, std::size_t p) {
    const PlannedPhase& phase = plan_.phases[p];
    NewTask want{.title = task.title,
                 .description = task.description,
                 .status = task.done ? Status::Closed : Status::Open,
                 .priority = phase.priority,
                 .spec_ref = SpecRef{plan_.spec_dir, task.task_id, phase.title},
                 .parallel = task.parallel,
                 .parent = feature_ids_[p]};
    auto have = tasks_before_.find(task.task_id);
    if (have == tasks_before_.end()) {
      auto created = tracker_.create(want);
      if (!created) return import_failure("creating " + task.task_id, created.error());
      ++report_.tasks.created;
      task_ids_[task.task_id] = created->id;
      task_closed_[task.task_id] = task.done;
      if (!task.done) phases_given_open_work_.insert(p);
      return {};
    }
    return update_task(task, have->second, want);
  }

  Result<void> update_task(const PlannedTask& task, const Task& have, const NewTask& want) {
    task_ids_[task.task_id] = have.id;
    auto changed = change_fields(have, want);
    if (!changed) return Failure{changed.error()};
    const bool closing = task.done && !is_closed(have);
    if (closing) {
      auto closed = tracker_.close(have.id, kTickedReason, "");
      if (!closed) return import_failure("closing " + task.task_id, closed.error());
    }
    task_closed_[task.task_id] = closing || is_closed(have);
    ++(*changed || closing ? report_.tasks.updated : report_.tasks.unchanged);
    return ensure_parent(have.id, want.parent, task.line, task.task_id);
  }

  // Creates the issue, or brings the fields the file owns up to date. Its id.
  Result<std::string> create_or_change(const std::optional<Task>& have, const NewTask& want) {
    if (!have) {
      auto created = tracker_.create(want);
      if (!created) return import_failure("creating '" + want.title + "'", created.error());
      created_groups_.insert(created->id);
      return created->id;
    }
    auto changed = change_fields(*have, want);
    if (!changed) return Failure{changed.error()};
    return have->id;
  }

  // True when something changed.
  Result<bool> change_fields(const Task& have, const NewTask& want) {
    TaskChange change = fields_to_change(have, want);
    if (!changes_anything(change)) return false;
    auto changed = tracker_.change(have.id, change);
    if (!changed) return import_failure("updating '" + have.title + "'", changed.error());
    return true;
  }

  // An issue that was there before keeps (or gets) its parent. A task moved to another phase
  // keeps its first one: an issue has a single parent, and the tracker has no way to move it.
  Result<void> ensure_parent(const std::string& id, const std::string& parent, int line,
                             const std::string& what) {
    auto edges = edges_of(id);
    if (!edges) return Failure{edges.error()};
    std::string current;
    for (const auto& edge : **edges)
      if (edge.type == DependencyType::ParentChild && edge.issue_id == id)
        current = edge.depends_on_id;
    if (current == parent) return {};
    if (!current.empty()) {
      report_.problems.push_back(
          {line, what + " moved to another phase; the tracker keeps it under its first one"});
      return {};
    }
    return add_edge({id, parent, DependencyType::ParentChild});
  }

  // A phase whose every task is now closed closes (the tracker usually did so already when its
  // last task closed). A closed phase opens again only when this import gave it a new open task:
  // the file never reopens what someone closed.
  Result<void> settle_features() {
    for (std::size_t p = 0; p < plan_.phases.size(); ++p) {
      const auto& tasks = plan_.phases[p].tasks;
      if (tasks.empty()) continue;
      const bool all_closed = std::all_of(tasks.begin(), tasks.end(), [&](const PlannedTask& t) {
        return task_closed_[t.task_id];
      });
      if (all_closed) {
        if (auto closed = close_if_open(feature_ids_[p]); !closed) return closed;
      } else if (phases_given_open_work_.contains(p)) {
        if (auto opened = reopen_if_closed(feature_ids_[p]); !opened) return opened;
      }
    }
    for (std::size_t p = 0; p < plan_.phases.size(); ++p) {
      auto counted =
          count_group(feature_ids_[p], features_before_by_id_[feature_ids_[p]], report_.features);
      if (!counted) return counted;
    }
    return {};
  }

  // The same for the epic and its phases; a new phase with open tasks counts as new open work.
  Result<void> settle_epic() {
    bool all_closed = !feature_ids_.empty();
    bool open_work_added = !phases_given_open_work_.empty();
    for (const auto& id : feature_ids_) {
      auto feature = tracker_.get(id);
      if (!feature) return import_failure("reading " + id, feature.error());
      all_closed = all_closed && is_closed(*feature);
    }
    Result<void> settled = all_closed        ? close_if_open(report_.epic_id)
                           : open_work_added ? reopen_if_closed(report_.epic_id)
                                             : Result<void>{};
    if (!settled) return settled;
    return count_group(report_.epic_id, epic_before_, report_.epic);
  }

  Result<void> close_if_open(const std::string& id) {
    auto now = tracker_.get(id);
    if (!now) return import_failure("reading " + id, now.error());
    if (is_closed(*now)) return {};
    auto closed = tracker_.close(id, kPhaseDoneReason, "");
    if (!closed) return import_failure("closing '" + now->title + "'", closed.error());
    return {};
  }

  Result<void> reopen_if_closed(const std::string& id) {
    auto now = tracker_.get(id);
    if (!now) return import_failure("reading " + id, now.error());
    if (!is_closed(*now)) return {};
    auto reopened = tracker_.reopen(id);
    if (!reopened) return import_failure("reopening '" + now->title + "'", reopened.error());
    return {};
  }

  Result<void> count_group(const std::string& id, const std::optional<Task>& before,
                           ImportCounts& counts) {
    if (created_groups_.contains(id)) {
      ++counts.created;
      return {};
    }
    auto after = tracker_.get(id);
    if (!after) return import_failure("reading " + id, after.error());
    ++(group_changed(*before, *after) ? counts.updated : counts.unchanged);
    return {};
  }

  // An edge the tracker refuses (one added by hand there may close a cycle with it) is a
  // problem of that line, not the end of the import.
  Result<void> add_blocks() {
    for (const auto& block : plan_.blocks) {
      if (auto added = add_edge({id_of(block.blocked), id_of(block.blocker)}); !added)
        report_.problems.push_back({block.line, added.error().message + "; skipped"});
    }
    return {};
  }

  const std::string& id_of(const PlanRef& ref) {
    return ref.task_id.empty() ? feature_ids_[ref.phase] : task_ids_[ref.task_id];
  }

  // The edges touching `id`, read once.
  Result<std::vector<Dependency>*> edges_of(const std::string& id) {
    auto cached = edges_.find(id);
    if (cached != edges_.end()) return &cached->second;
    auto edges = tracker_.dependencies(id);
    if (!edges) return import_failure("reading the dependencies of " + id, edges.error());
    return &edges_.emplace(id, std::move(*edges)).first->second;
  }

  Result<void> add_edge(const Dependency& edge) {
    auto edges = edges_of(edge.issue_id);
    if (!edges) return Failure{edges.error()};
    std::vector<Dependency>& known = **edges;
    if (std::find(known.begin(), known.end(), edge) != known.end()) return {};
    if (auto added = tracker_.add_dependency(edge); !added)
      return import_failure("adding " + edge.issue_id + " → " + edge.depends_on_id, added.error());
    known.push_back(edge);
    ++report_.edges_added;
    return {};
  }

  // Tasks, then phases, that the tracker has for this spec dir and the file no longer lists.
  void find_vanished() {
    std::set<std::string> listed;
    for (const auto& phase : plan_.phases)
      for (const auto& task : phase.tasks) listed.insert(task.task_id);
    for (const auto& [task_id, task] : tasks_before_)
      if (!listed.contains(task_id)) report_.vanished.push_back({task_id, task.id, task.title});
    for (const auto& feature : features_before_)
      if (!features_before_by_id_.contains(feature.id))
        report_.vanished.push_back({"", feature.id, feature.title});
  }

  Tracker& tracker_;
  const ImportPlan& plan_;
  ImportReport report_;
  std::optional<Task> epic_before_;
  std::vector<Task> features_before_;
  std::map<std::string, Task> tasks_before_;  // by T-id
  std::vector<std::string> feature_ids_;      // by phase index
  std::map<std::string, std::optional<Task>> features_before_by_id_;
  std::set<std::string> created_groups_;
  std::map<std::string, std::string> task_ids_;   // T-id → tracker id
  std::map<std::string, bool> task_closed_;       // T-id → closed in the tracker after the import
  std::set<std::size_t> phases_given_open_work_;  // phases this import added an open task to
  std::map<std::string, std::vector<Dependency>> edges_;
};

}  // namespace

Result<ImportReport> apply_import(Tracker& tracker, const ImportPlan& plan) {
  if (plan.spec_dir.empty()) return Failure{Error{0, "import: the plan names no spec dir"}};
  return Importer(tracker, plan).run();
}

}  // namespace sddsh::tracker
