#include "support/temp_dir.hpp"

#include <stdexcept>
#include <string>

#include <stdlib.h>

namespace testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "scep-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  m_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

}  // namespace testing
