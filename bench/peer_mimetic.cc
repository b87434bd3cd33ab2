// peer_mimetic.cc: the mimetic peer of bench_mime.c (Debian libmimetic-dev,
// C++). One extern "C" entry: parse a message held in memory, visit every
// entity, and optionally decode the leaves with mimetic's own codecs. The
// only C++ besides the benchmark shim; built only when mimetic is found.
#include <cstddef>
#include <cstdint>
#include <exception>

#include <mimetic/mimetic.h>

namespace
{

// An output iterator that only counts: decoded bytes go nowhere, as with
// mimecodec's counting sink and GMime's null stream.
struct Counter {
	uint64_t *n;
	Counter &operator*()
	{
		return *this;
	}
	template <typename T> Counter &operator=(const T &)
	{
		++*n;
		return *this;
	}
	Counter &operator++()
	{
		return *this;
	}
	Counter operator++(int)
	{
		return *this;
	}
};

template <typename Codec> void decode_body(const std::string &b, uint64_t *decoded)
{
	Codec dec;
	Counter out{decoded};
	// the range form (faster than mimetic::decode's byte-at-a-time loop)
	dec.process(b.begin(), b.end(), out);
	dec.flush(out);
}

void walk(const mimetic::MimeEntity &e, int decode, uint64_t *parts, uint64_t *decoded)
{
	const mimetic::MimeEntityList &kids = e.body().parts();

	++*parts;
	(void)e.header().contentType().type();
	if (!kids.empty()) {
		for (const mimetic::MimeEntity *k : kids)
			walk(*k, decode, parts, decoded);
		return;
	}
	if (!decode || e.header().contentType().isMultipart())
		return;
	const std::string &enc = e.header().contentTransferEncoding().mechanism();
	if (mimetic::istring(enc.c_str()) == "base64")
		decode_body<mimetic::Base64::Decoder>(e.body(), decoded);
	else if (decode == 2)
		return;
	else if (mimetic::istring(enc.c_str()) == "quoted-printable")
		decode_body<mimetic::QP::Decoder>(e.body(), decoded);
	else
		*decoded += e.body().size();
}

} // namespace

extern "C" int mc_peer_mimetic(const char *buf, size_t len, int decode, uint64_t *parts,
                               uint64_t *decoded)
{
	try {
		mimetic::MimeEntity me(buf, buf + len);
		walk(me, decode, parts, decoded);
		return 0;
	} catch (const std::exception &) {
		return -1;
	}
}
