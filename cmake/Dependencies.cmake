# All dependencies come from Debian 12 packages (scripts/setup installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(VTERM REQUIRED IMPORTED_TARGET vterm>=0.1.4)
set(CURSES_NEED_WIDE TRUE)
set(CURSES_NEED_NCURSES TRUE)
find_package(Curses REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(LIBGIT2 REQUIRED IMPORTED_TARGET libgit2>=1.5)
find_package(nlohmann_json 3.11 CONFIG REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(CURL REQUIRED)
# libzstd: replay's keyframes. Screen states compress ~5x at zstd's fastest level (a 1-hour,
# 200 MB session: 12 MB of states cached in 2.3 MB, for 20 ms of compressing).
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(OpenSSL REQUIRED)  # libcrypto: SHA-256 of uploaded files and of stored tokens
# Debian's cpp-httplib is a shared library built with OpenSSL: its pkg-config flags must match.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
