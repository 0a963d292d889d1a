#include "adapters/limacharlie/gzip.h"

#include <zlib.h>

#include <array>
#include <limits>

#include "absl/strings/str_cat.h"

namespace halopsa::lc {
namespace {

// windowBits for zlib's inflateInit2/deflateInit2: 15-bit window, gzip
// header and trailer instead of zlib's.
constexpr int kGzipWindowBits = 16 + MAX_WBITS;
constexpr size_t kChunkBytes = 16 << 10;

Bytef* Bytes(absl::string_view data) {
  // zlib's API is not const-correct; it never writes through next_in.
  return reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
}

}  // namespace

absl::StatusOr<std::string> Gunzip(absl::string_view data, size_t max_output_bytes) {
  if (data.size() > std::numeric_limits<uInt>::max()) {
    return absl::ResourceExhaustedError("compressed body too large");
  }
  z_stream stream{};
  if (inflateInit2(&stream, kGzipWindowBits) != Z_OK) return absl::InternalError("inflateInit2 failed");
  stream.next_in = Bytes(data);
  stream.avail_in = static_cast<uInt>(data.size());

  std::string output;
  std::array<char, kChunkBytes> chunk;
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk.data());
    stream.avail_out = static_cast<uInt>(chunk.size());
    // Z_BUF_ERROR here means the input ended before the stream did.
    result = inflate(&stream, Z_NO_FLUSH);
    const size_t produced = chunk.size() - stream.avail_out;
    if (output.size() + produced > max_output_bytes) {
      inflateEnd(&stream);
      return absl::ResourceExhaustedError(absl::StrCat("decompressed body exceeds ", max_output_bytes, " bytes"));
    }
    output.append(chunk.data(), produced);
  }
  const std::string zlib_message = stream.msg != nullptr ? stream.msg : "corrupt stream";
  const bool trailing_bytes = stream.avail_in != 0;
  inflateEnd(&stream);
  if (result == Z_STREAM_END) {
    if (trailing_bytes) return absl::InvalidArgumentError("gzip: unexpected bytes after the gzip stream");
    return output;
  }
  if (result == Z_BUF_ERROR) return absl::InvalidArgumentError("gzip: truncated stream");
  return absl::InvalidArgumentError(absl::StrCat("gzip: ", zlib_message));
}

std::string Gzip(absl::string_view data) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
  std::string output(deflateBound(&stream, data.size()), '\0');
  stream.next_in = Bytes(data);
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  deflate(&stream, Z_FINISH);  // deflateBound guarantees room for everything
  output.resize(stream.total_out);
  deflateEnd(&stream);
  return output;
}

}  // namespace halopsa::lc
