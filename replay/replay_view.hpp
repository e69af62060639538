#pragma once
// What `sddsh replay` shows and how it answers keys: the recorded terminal at its recorded size
// (centred, or cropped with a note when the user's terminal is smaller), a panel with the turns,
// the task segments and what could not be read, and a status line with the clock, the speed and
// a timeline with a tick per turn. Draws through tui::Renderer on any painter, so tests use the
// headless one; the command (app/replay_command.cpp) owns the terminal and the event loop.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "replay/pager.hpp"
#include "replay/player.hpp"
#include "replay/timeline.hpp"  // clock_text
#include "tui/input_decoder.hpp"
#include "tui/layout.hpp"
#include "tui/painter.hpp"
#include "tui/panel.hpp"
#include "tui/renderer.hpp"

namespace sddsh::replay {

struct ViewOptions {
  double speed = 1.0;  // clamped to [kMinSpeed, kMaxSpeed]
  bool idle_limit = true;
  // The limit the Player was opened with (PlayerOptions::idle_limit), for the status line.
  double idle_limit_seconds = 2.0;
  bool panel = true;
  std::string title;  // the status line's right end: "3f2a9c1d · claude"
};

class ReplayView {
 public:
  static constexpr double kMinSpeed = 0.25;
  static constexpr double kMaxSpeed = 16.0;
  static constexpr double kSeekSeconds = 5.0;

  enum class Action : std::uint8_t { None, Redraw, Quit };
  enum class Overlay : std::uint8_t { None, Help, Diff, Conversation };

  ReplayView(Player& player, tui::Painter& painter, ViewOptions options = {});
  ~ReplayView();
  ReplayView(const ReplayView&) = delete;
  ReplayView& operator=(const ReplayView&) = delete;

  Action handle_key(const tui::KeyEvent& key);
  // While playing: moves on by `elapsed_wall_seconds` times the speed; pauses at the end.
  void tick(double elapsed_wall_seconds);
  // Wall-clock seconds until a frame is due: the next output event or the next second of the
  // clock, whichever comes first. None while paused, at the end, or under an overlay — so an
  // idle replay wakes nobody.
  std::optional<double> next_frame_in() const;
  // The painter has a new size: the next frame lays everything out again.
  void resized();
  void draw();

  bool playing() const { return playing_; }
  double speed() const { return speed_; }
  Overlay overlay() const { return overlay_; }
  const Pager* pager() const { return pager_ ? &*pager_ : nullptr; }
  // Where the recorded terminal is drawn (empty under a pager), and whether it had to be cut.
  tui::Rect pane_rect() const;
  bool cropped() const;
  // The layout of the last frame: the pane there is all the space left of the panel.
  const tui::Layout& layout() const { return base_layout_; }

 private:
  struct Placement {
    tui::Layout base;  // compute_layout's: the pane is the space left of the panel
    tui::Rect pane;    // the recorded terminal, centred in base.pane and cut to it
    int screen_rows = 0, screen_cols = 0;
  };

  Action handle_player_key(const tui::KeyEvent& key);
  Action handle_overlay_key(const tui::KeyEvent& key);
  void toggle_play();
  void change_speed(int direction);
  void step(bool forward);
  void jump(double shown);
  void open_pager(Overlay which);
  void moved();

  Placement place() const;
  void paint_surroundings(const Placement& placement);
  void paint_frame_around(const tui::Rect& pane, const tui::Rect& area);
  tui::Chrome chrome(const Placement& placement);
  std::string status_left(int timeline_cols) const;
  std::string status_right(const Placement& placement) const;
  std::string timeline(int cols) const;
  void build_sections(const Placement& placement);
  std::vector<tui::PanelLine> problem_lines(int cols) const;
  std::vector<tui::PanelLine> task_lines(int cols) const;
  std::string turns_title() const;
  std::vector<tui::PanelLine> turn_lines(int cols, int rows) const;
  std::string turn_line(const recorder::TurnRecord& turn, int cols) const;
  bool readable(double recorded) const;

  Player& player_;
  tui::Painter& painter_;
  tui::Renderer renderer_;
  ViewOptions options_;
  bool playing_ = false;
  double speed_ = 1.0;
  Overlay overlay_ = Overlay::None;
  std::optional<Pager> pager_;
  std::string message_;  // a note for the status line until the next key
  tui::Layout base_layout_;
  const tui::Screen* last_screen_ = nullptr;
  bool surroundings_stale_ = true;

  class ListSection;
  std::vector<std::unique_ptr<ListSection>> sections_;
};

// The status line's timeline, `cols` cells between its ends: the cell of shown time `t`.
int timeline_cell(double t, double duration, int cols);

}  // namespace sddsh::replay
