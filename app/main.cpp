#include <string>
#include <vector>

#include "app/run.hpp"

int main(int argc, char** argv) {
  return sddsh::app::run_sddsh(std::vector<std::string>(argv + 1, argv + argc));
}
