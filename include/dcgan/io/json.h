// JSON text for the few values dcgan writes as JSON (eval --json, the safetensors header).
#pragma once

#include <string>

namespace dcgan {

// `text` as a JSON string literal, quotes included: ", \ and control characters escaped.
std::string json_string(const std::string& text);

}  // namespace dcgan
