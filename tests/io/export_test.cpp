#include "dcgan/io/export.h"

#include <gtest/gtest.h>
#include <torch/script.h>

#include <cstring>
#include <stdexcept>

#include "dcgan/io/json.h"
#include "testing/temp_dir.h"

namespace dcgan {
namespace {

TEST(Json, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string(std::string("n\nt\t\x01", 5)), "\"n\\u000at\\u0009\\u0001\"");
  EXPECT_EQ(json_string("é"), "\"é\"");  // UTF-8 passes through
}

uint64_t header_length(const std::string& file) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(file[i]);
  return length;
}

TEST(Safetensors, LengthHeaderAndRawDataInOrder) {
  const torch::Tensor a = torch::arange(6, torch::kFloat32).view({2, 3});
  const torch::Tensor b = torch::tensor({7, -8}, torch::kLong);
  const std::string file = encode_safetensors({{"a.weight", a}, {"b", b}}, {{"k", "v\"q"}});
  const uint64_t length = header_length(file);
  ASSERT_LE(8 + length, file.size());
  EXPECT_EQ(length % 8, 0u);
  const std::string header = file.substr(8, length);
  EXPECT_EQ(header.rfind("{\"__metadata__\":{\"k\":\"v\\\"q\"},"
                         "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                         "\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[24,40]}}",
                         0),
            0u)
      << header;
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));  // only spaces pad it
  const std::string data = file.substr(8 + length);
  ASSERT_EQ(data.size(), 40u);
  EXPECT_EQ(std::memcmp(data.data(), a.data_ptr<float>(), 24), 0);
  EXPECT_EQ(std::memcmp(data.data() + 24, b.data_ptr<int64_t>(), 16), 0);
}

TEST(Safetensors, RefusesWhatItCannotEncode) {
  EXPECT_THROW(encode_safetensors({{"h", torch::zeros({2}, torch::kFloat16)}}, {}),
               std::invalid_argument);
  EXPECT_THROW(encode_safetensors({{"", torch::zeros({2})}}, {}), std::invalid_argument);
}

TEST(Safetensors, GeneratorStateHasPyTorchNamesAndTheArchitecture) {
  ModelOptions model;
  model.g_channels = 16;
  Generator g(model, 1, UpconvKind::kPhase);
  std::vector<std::string> names;
  for (const auto& item : generator_state(g)) names.push_back(item.first);
  const std::vector<std::string> expected = {
      "fc.weight", "fc.bias", "bn1.weight", "bn1.bias", "t2.weight", "t2.bias", "t3.weight",
      "t3.bias", "t4.weight", "t4.bias", "bn2.weight", "bn2.bias", "bn3.weight", "bn3.bias",
      "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "bn2.running_mean",
      "bn2.running_var", "bn2.num_batches_tracked", "bn3.running_mean", "bn3.running_var",
      "bn3.num_batches_tracked"};
  EXPECT_EQ(names, expected);
  const auto meta = generator_metadata(model, 1);
  EXPECT_EQ(meta.at("format"), "dcgan-generator");
  EXPECT_EQ(meta.at("g_channels"), "16");
  EXPECT_EQ(meta.at("channels"), "1");
  EXPECT_EQ(meta.at("bn_eps"), "0.001");
}

// The TorchScript module, loaded back by LibTorch's own loader, computes what the generator
// computes in eval mode, for both image sizes and both transposed-convolution forms.
TEST(TorchScriptExport, LoadsBackAndMatchesTheGenerator) {
  testing::TempDir dir;
  for (const int64_t size : {32, 64}) {
    for (const UpconvKind kind : {UpconvKind::kNative, UpconvKind::kPhase}) {
      ModelOptions model;
      model.image_size = size;
      model.g_channels = 16;
      torch::manual_seed(3);
      Generator g(model, 3, kind);
      {
        // Move the running statistics away from 0 and 1, so that eval mode is what is compared.
        torch::NoGradGuard no_grad;
        g->train();
        g->forward(torch::rand({8, model.z_dim}) * 2 - 1);
      }
      g->eval();
      const std::string path = dir.file("g" + std::to_string(size) + ".pt");
      export_torchscript(path, g, model, 3);
      torch::jit::Module loaded = torch::jit::load(path);
      EXPECT_EQ(loaded.attr("image_size").toInt(), size);
      EXPECT_EQ(loaded.attr("z_dim").toInt(), model.z_dim);
      torch::NoGradGuard no_grad;
      const torch::Tensor z = torch::rand({4, model.z_dim}) * 2 - 1;
      const torch::Tensor expected = g->forward(z);
      const torch::Tensor got = loaded.forward({z}).toTensor();
      ASSERT_EQ(got.sizes(), expected.sizes());
      EXPECT_LE((got - expected).abs().max().item<float>(), 1e-5) << "size " << size;
    }
  }
}

}  // namespace
}  // namespace dcgan
