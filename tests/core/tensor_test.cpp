#include "engine/core/tensor.h"

#include <gtest/gtest.h>

#include "engine/core/error.h"

namespace hs {
namespace {

TEST(Tensor, ZerosReshapeAndSliceShareStorage) {
  Tensor t = Tensor::zeros({4, 3}, DType::F32);
  EXPECT_EQ(t.numel(), 12);
  EXPECT_EQ(t.bytes(), 48u);
  EXPECT_EQ(t.dim(-1), 3);
  t.data<float>()[7] = 5.0f;
  Tensor rows = t.slice(2, 4);
  EXPECT_EQ(rows.shape(), (Shape{2, 3}));
  EXPECT_EQ(rows.data<float>()[1], 5.0f);
  Tensor flat = t.reshape({12});
  EXPECT_EQ(flat.data<float>()[7], 5.0f);
  Tensor copy = t.clone();
  copy.data<float>()[7] = 1.0f;
  EXPECT_EQ(t.data<float>()[7], 5.0f);
}

TEST(Tensor, BadShapesAndAccessThrow) {
  Tensor t = Tensor::zeros({2, 3}, DType::BF16);
  EXPECT_THROW(t.reshape({5}), InvalidArgument);
  EXPECT_THROW(t.slice(1, 3), InvalidArgument);
  EXPECT_THROW(t.dim(2), InvalidArgument);
  EXPECT_THROW(t.data<float>(), InvalidArgument);
  EXPECT_THROW(Tensor::zeros({-1}, DType::F32), InvalidArgument);
}

TEST(Tensor, ToF32ConvertsFromStoredDtype) {
  Tensor t = Tensor::zeros({2}, DType::BF16);
  t.data<std::uint16_t>()[0] = 0x4040;  // 3.0
  t.data<std::uint16_t>()[1] = 0xbf00;  // -0.5
  Tensor f = t.to_f32();
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(f.data<float>()[0], 3.0f);
  EXPECT_EQ(f.data<float>()[1], -0.5f);
}

}  // namespace
}  // namespace hs
