#include "app/task_text.hpp"

#include <algorithm>
#include <sstream>

#include "tui/utf8.hpp"

namespace sddsh::app {

namespace {

using tracker::DependencyType;
using tracker::Status;
using tracker::Task;

constexpr std::size_t kNarrowestTitle = 12;
constexpr std::size_t kWidestSideColumn = 14;  // assignee and phase give way to the title

std::size_t columns_of(const std::string& text) {
  return static_cast<std::size_t>(tui::display_width(tui::decode_utf8(text)));
}

// `text` cut to `width` columns, with "…" where it was cut.
std::string fit(const std::string& text, std::size_t width) {
  std::u32string wide = tui::decode_utf8(text);
  if (static_cast<std::size_t>(tui::display_width(wide)) <= width) return text;
  std::string out;
  if (width == 0) return out;
  tui::append_utf8(out, tui::fit_columns(wide, static_cast<int>(width - 1)));
  return out + "…";
}

std::string pad(const std::string& text, std::size_t width) {
  std::size_t used = columns_of(text);
  return used >= width ? text : text + std::string(width - used, ' ');
}

std::string paint(const std::string& text, const char* sgr, const TextStyle& style) {
  if (!style.colour || !sgr || !*sgr) return text;
  return std::string("\x1b[") + sgr + "m" + text + "\x1b[0m";
}

const char* status_colour(Status status) {
  switch (status) {
    case Status::Open:
      return "32";
    case Status::InProgress:
      return "36";
    case Status::Blocked:
      return "31";
    case Status::Deferred:
    case Status::Closed:
      return "2";
  }
  return "";
}

const char* priority_colour(int priority) {
  if (priority == 0) return "1;31";
  if (priority == 1) return "33";
  return "";
}

std::string priority_text(int priority) {
  return "P" + std::to_string(priority);
}

// What the title column says: tasks.md's own words ("T012 [P] …") when the task came from one.
std::string title_cell(const Task& task) {
  std::string cell;
  if (task.spec_ref && !task.spec_ref->task_id.empty()) cell += task.spec_ref->task_id + " ";
  if (task.parallel) cell += "[P] ";
  return cell + task.title.substr(0, task.title.find('\n'));
}

std::string phase_cell(const Task& task) {
  return task.spec_ref ? short_phase(task.spec_ref->phase) : "";
}

// Width of a column: its header or its widest cell, whichever is wider, capped at `cap`.
template <typename Cell>
std::size_t column_width(const std::vector<Task>& tasks, const char* header, Cell cell,
                         std::size_t cap = kWidestSideColumn) {
  std::size_t width = columns_of(header);
  for (const auto& task : tasks) width = std::max(width, columns_of(cell(task)));
  return std::min(width, cap);
}

struct TableLayout {
  std::size_t id = 0, type = 0, status = 0, assignee = 0, phase = 0;
  std::size_t title = 0;  // 0: no limit
};

TableLayout layout_for(const std::vector<Task>& tasks, std::size_t width) {
  TableLayout layout;
  layout.id = column_width(
      tasks, "ID", [](const Task& t) { return t.id; }, 32);
  layout.type =
      column_width(tasks, "TYPE", [](const Task& t) { return std::string(name(t.issue_type)); });
  layout.status =
      column_width(tasks, "STATUS", [](const Task& t) { return std::string(name(t.status)); });
  const bool any_assignee =
      std::any_of(tasks.begin(), tasks.end(), [](const Task& t) { return !t.assignee.empty(); });
  const bool any_phase =
      std::any_of(tasks.begin(), tasks.end(), [](const Task& t) { return !phase_cell(t).empty(); });
  if (any_assignee)
    layout.assignee = column_width(tasks, "ASSIGNEE", [](const Task& t) { return t.assignee; });
  if (any_phase) layout.phase = column_width(tasks, "PHASE", phase_cell);
  if (width == 0) return layout;
  // Each column is followed by two spaces; PRI is three columns wide.
  std::size_t used = layout.id + 2 + 3 + 2 + layout.type + 2 + layout.status + 2;
  if (layout.assignee) used += layout.assignee + 2;
  if (layout.phase) used += layout.phase + 2;
  layout.title = width > used + kNarrowestTitle ? width - used : kNarrowestTitle;
  return layout;
}

// Cells padded to their widths (escapes never count towards the padding); the last one, the
// title, is not padded.
std::string table_row(const std::vector<std::string>& cells,
                      const std::vector<const char*>& colours,
                      const std::vector<std::size_t>& widths, const TextStyle& style) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string cell = widths[i] ? fit(cells[i], widths[i]) : cells[i];
    line += paint(cell, colours[i], style);
    if (i + 1 < cells.size()) line += std::string(widths[i] - columns_of(cell) + 2, ' ');
  }
  return line + "\n";
}

// The columns of a row, in order, and their widths.
std::vector<std::size_t> widths_of(const TableLayout& layout) {
  std::vector<std::size_t> widths{layout.id, 3, layout.type, layout.status};
  if (layout.assignee) widths.push_back(layout.assignee);
  if (layout.phase) widths.push_back(layout.phase);
  widths.push_back(layout.title);
  return widths;
}

std::string header_row(const TableLayout& layout, const TextStyle& style) {
  std::vector<std::string> cells{"ID", "PRI", "TYPE", "STATUS"};
  if (layout.assignee) cells.push_back("ASSIGNEE");
  if (layout.phase) cells.push_back("PHASE");
  cells.push_back("TITLE");
  return table_row(cells, std::vector<const char*>(cells.size(), "1"), widths_of(layout), style);
}

std::string task_row(const Task& task, const TableLayout& layout, const TextStyle& style) {
  const bool closed = task.status == Status::Closed;
  std::vector<std::string> cells{task.id, priority_text(task.priority), name(task.issue_type),
                                 name(task.status)};
  std::vector<const char*> colours{"", priority_colour(task.priority), "",
                                   status_colour(task.status)};
  if (layout.assignee) cells.push_back(task.assignee), colours.push_back("");
  if (layout.phase) cells.push_back(phase_cell(task)), colours.push_back("2");
  cells.push_back(title_cell(task)), colours.push_back(closed ? "2" : "");
  return table_row(cells, colours, widths_of(layout), style);
}

// --- task show --------------------------------------------------------------------------

void field(std::ostringstream& out, const char* label, const std::string& value) {
  if (!value.empty()) out << "  " << pad(label, 10) << value << "\n";
}

std::string status_line(const Task& task, const TextStyle& style) {
  std::string line = paint(name(task.status), status_colour(task.status), style);
  if (!task.assignee.empty()) line += " · " + task.assignee;
  if (!task.started_at.empty() && task.status == Status::InProgress)
    line += " since " + task.started_at;
  return line;
}

std::string spec_line(const Task& task) {
  if (!task.spec_ref) return "";
  std::string line = task.spec_ref->dir;
  if (!task.spec_ref->task_id.empty()) line += " · " + task.spec_ref->task_id;
  if (!task.spec_ref->phase.empty()) line += " · " + task.spec_ref->phase;
  return line;
}

std::string closed_line(const Task& task) {
  if (task.status != Status::Closed) return "";
  std::string line = task.closed_at;
  if (!task.close_reason.empty()) line += " · " + task.close_reason;
  if (!task.closed_by_session.empty()) line += " · session " + task.closed_by_session;
  return line;
}

std::string joined(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// The headings edges go under, seen from the shown task, in the order they are shown: what it
// belongs to and waits for first, then what depends on it.
struct EdgeHeading {
  DependencyType type;
  bool outgoing;  // the shown task is the edge's issue_id
  const char* text;
};
constexpr EdgeHeading kEdgeHeadings[] = {
    {DependencyType::ParentChild, true, "Part of"},
    {DependencyType::Blocks, true, "Waits for"},
    {DependencyType::Blocks, false, "Blocks"},
    {DependencyType::ParentChild, false, "Children"},
    {DependencyType::Related, true, "Related"},
    {DependencyType::Related, false, "Related"},
    {DependencyType::DiscoveredFrom, true, "Discovered from"},
    {DependencyType::DiscoveredFrom, false, "Led to"},
};

std::string edge_line(const TaskEdge& edge, bool outgoing, const TextStyle& style) {
  const std::string& id = outgoing ? edge.dependency.depends_on_id : edge.dependency.issue_id;
  if (!edge.other) return "  " + id + "  (missing)\n";
  const Task& other = *edge.other;
  return "  " + paint(id, "2", style) + "  " +
         paint(pad(name(other.status), 11), status_colour(other.status), style) + " " +
         title_cell(other) + "\n";
}

std::string edges_text(const Task& task, const std::vector<TaskEdge>& edges,
                       const TextStyle& style) {
  std::string out;
  std::string last_heading;
  for (const auto& heading : kEdgeHeadings) {
    std::string lines;
    for (const auto& edge : edges)
      if (edge.dependency.type == heading.type &&
          (edge.dependency.issue_id == task.id) == heading.outgoing)
        lines += edge_line(edge, heading.outgoing, style);
    if (lines.empty()) continue;
    // Related edges either way share one heading.
    if (heading.text != last_heading)
      out += "\n" + paint(std::string(heading.text) + ":", "1", style) + "\n";
    out += lines;
    last_heading = heading.text;
  }
  return out;
}

std::string indented(const std::string& text) {
  std::string out = "  ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

}  // namespace

std::string short_phase(const std::string& phase) {
  return phase.substr(0, phase.find(':'));
}

std::string task_table(const std::vector<Task>& tasks, const TextStyle& style) {
  const TableLayout layout = layout_for(tasks, style.width);
  std::string out = header_row(layout, style);
  for (const auto& task : tasks) out += task_row(task, layout, style);
  return out;
}

std::string task_details(const Task& task, const std::vector<TaskEdge>& edges,
                         const TextStyle& style) {
  std::ostringstream out;
  out << paint(task.id, "1", style) << "  " << task.title << "\n";
  field(out, "type", name(task.issue_type));
  field(out, "priority",
        paint(priority_text(task.priority), priority_colour(task.priority), style));
  field(out, "status", status_line(task, style));
  field(out, "spec", spec_line(task));
  field(out, "parallel", task.parallel ? "yes [P]" : "");
  field(out, "labels", joined(task.labels, ", "));
  field(out, "deferred", task.defer_until.empty() ? "" : "until " + task.defer_until);
  field(out, "created", task.created_at);
  field(out, "updated", task.updated_at);
  field(out, "closed", closed_line(task));
  if (!task.description.empty()) out << "\n" << indented(task.description) << "\n";
  out << edges_text(task, edges, style);
  return out.str();
}

std::string brief_text(const Task& task, const std::vector<std::string>& spec_files) {
  std::ostringstream out;
  out << "Task " << task.id << ": " << task.title << "\n";
  out << "Type " << name(task.issue_type) << ", priority " << priority_text(task.priority);
  if (task.parallel) out << "; [P]: may run alongside the other [P] tasks of its phase";
  out << ".\n";
  if (task.spec_ref) {
    out << "Spec: " << task.spec_ref->dir;
    if (!task.spec_ref->task_id.empty()) out << ", task " << task.spec_ref->task_id;
    if (!task.spec_ref->phase.empty()) out << ", " << task.spec_ref->phase;
    out << "\n";
  }
  if (!spec_files.empty()) out << "Read first: " << joined(spec_files, ", ") << "\n";
  if (!task.description.empty()) out << "\n" << task.description << "\n";
  out << "\nWhen it is done: sddsh task done " << task.id << " --reason \"...\"\n";
  out << "To leave a note: sddsh task note " << task.id << " \"...\"\n";
  return out.str();
}

}  // namespace sddsh::app
