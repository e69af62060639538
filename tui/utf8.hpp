#pragma once
// The little UTF-8 the UI needs for its own text (panel, status line, help).
#include <string>
#include <string_view>

namespace sddsh::tui {

void append_utf8(std::string& out, char32_t c);
void append_utf8(std::string& out, std::u32string_view text);
// Decodes UTF-8; invalid bytes become U+FFFD.
std::u32string decode_utf8(std::string_view text);
// Columns the text takes on a terminal (wcwidth; unprintable characters count 0).
int display_width(std::u32string_view text);
// The longest prefix of `text` that fits in `cols` columns.
std::u32string fit_columns(std::u32string_view text, int cols);

}  // namespace sddsh::tui
