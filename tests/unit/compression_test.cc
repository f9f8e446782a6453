#include "server/compression.h"

#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace chatbot::server {
namespace {

TEST(AcceptEncodingTest, ListedCodingsAreAccepted) {
  const AcceptedEncodings a = ParseAcceptEncoding("gzip, deflate, br");
  EXPECT_TRUE(a.gzip);
  EXPECT_TRUE(a.brotli);
  EXPECT_FALSE(ParseAcceptEncoding("").gzip);
  EXPECT_FALSE(ParseAcceptEncoding("deflate").gzip);
  EXPECT_TRUE(ParseAcceptEncoding("GZIP;q=0.5").gzip);
  EXPECT_TRUE(ParseAcceptEncoding("x-gzip").gzip);
}

TEST(AcceptEncodingTest, QualityZeroRefuses) {
  EXPECT_FALSE(ParseAcceptEncoding("gzip;q=0").gzip);
  EXPECT_FALSE(ParseAcceptEncoding("gzip; q=0.000, br").gzip);
  EXPECT_TRUE(ParseAcceptEncoding("gzip; q=0.000, br").brotli);
  EXPECT_TRUE(ParseAcceptEncoding("gzip;q=0.001").gzip);
}

TEST(AcceptEncodingTest, StarCoversWhatIsNotNamed) {
  const AcceptedEncodings a = ParseAcceptEncoding("*;q=0.1, br;q=0");
  EXPECT_TRUE(a.gzip);
  EXPECT_FALSE(a.brotli);
  EXPECT_FALSE(ParseAcceptEncoding("*;q=0").gzip);
}

TEST(GzipTest, RoundTripsAndShrinksText) {
  std::string text;
  for (int i = 0; i < 500; ++i) text += "{\"intent\": \"greeting\", \"confidence\": 0.99},";
  const std::string gz = GzipCompress(text, 6);
  EXPECT_LT(gz.size(), text.size() / 5);
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_EQ(GzipDecompress(gz), text);
  EXPECT_EQ(GzipDecompress(GzipCompress("", 1)), "");
}

TEST(GzipTest, CorruptStreamThrows) {
  std::string gz = GzipCompress(std::string(1000, 'a'), 6);
  EXPECT_THROW(GzipDecompress(gz.substr(0, gz.size() / 2)), Error);
  EXPECT_THROW(GzipDecompress("not gzip at all"), Error);
}

TEST(BrotliTest, CompressesText) {
  const std::string text(10000, 'x');
  const std::string br = BrotliCompress(text, 11);
  EXPECT_GT(br.size(), 0u);
  EXPECT_LT(br.size(), 100u);
}

HttpRequest RequestAccepting(std::string encodings) {
  HttpRequest request;
  request.method = "GET";
  request.headers.emplace_back("accept-encoding", std::move(encodings));
  return request;
}

TEST(CompressResponseTest, CompressesLargeBodiesWhenAccepted) {
  HttpResponse response;
  response.body = std::string(4000, 'z');
  ASSERT_TRUE(CompressResponse(RequestAccepting("gzip"), 1024, &response));
  EXPECT_EQ(GzipDecompress(response.body), std::string(4000, 'z'));
  bool encoding = false, vary = false;
  for (const auto& [name, value] : response.headers) {
    encoding |= name == "Content-Encoding" && value == "gzip";
    vary |= name == "Vary" && value == "Accept-Encoding";
  }
  EXPECT_TRUE(encoding);
  EXPECT_TRUE(vary);
  // Not twice.
  EXPECT_FALSE(CompressResponse(RequestAccepting("gzip"), 1024, &response));
}

TEST(CompressResponseTest, LeavesSmallOrUnacceptedBodiesAlone) {
  HttpResponse small;
  small.body = std::string(100, 'z');
  EXPECT_FALSE(CompressResponse(RequestAccepting("gzip"), 1024, &small));
  EXPECT_EQ(small.body, std::string(100, 'z'));
  HttpResponse large;
  large.body = std::string(4000, 'z');
  EXPECT_FALSE(CompressResponse(RequestAccepting("identity"), 1024, &large));
  EXPECT_FALSE(CompressResponse(HttpRequest{}, 1024, &large));
  EXPECT_TRUE(large.headers.empty());
}

}  // namespace
}  // namespace chatbot::server
