#include "recorder/session_id.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace sddsh::recorder;

TEST(SessionId, IsAVersion4Uuid) {
  auto id = new_session_id();
  EXPECT_TRUE(is_session_id(id)) << id;
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
}

TEST(SessionId, IdsDoNotRepeat) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(new_session_id());
  EXPECT_EQ(ids.size(), 1000U);
}

TEST(SessionId, RejectsLookalikes) {
  EXPECT_FALSE(is_session_id(""));
  EXPECT_FALSE(is_session_id("0df2392a-eb68-4125-ab4f-f129f7b57fe"));
  EXPECT_FALSE(is_session_id("0df2392a-eb68-4125-ab4f-f129f7b57fE5"));
  EXPECT_FALSE(is_session_id("0df2392a_eb68-4125-ab4f-f129f7b57fe5"));
  EXPECT_TRUE(is_session_id("0df2392a-eb68-4125-ab4f-f129f7b57fe5"));
}
