#include "frontends/envoy/authz_decoder.h"

#include "base/proto_wire.h"

namespace frontends::envoy {
namespace {

using mixer::attribute::StringMapEntry;
using mixer::base::WireReader;
using mixer::base::WireType;

constexpr size_t kMaxScannedEntries = 1024;  // above MappingLimits::max_headers' default

absl::Status malformed(std::string_view where) {
  return absl::InvalidArgumentError(
      std::string("malformed envoy.service.auth.v3.CheckRequest: ").append(where));
}

// Reads a length-delimited field into `out`, or skips a field of another wire type; false when
// the bytes end early.
bool readString(WireReader& r, WireType t, std::string_view* out) {
  if (t != WireType::Len) return r.skip(t);
  return r.readLen(out);
}

bool readVarint(WireReader& r, WireType t, uint64_t* out) {
  if (t != WireType::Varint) return r.skip(t);
  return r.readVarint(out);
}

// Reads each field of the message in `bytes`: field(reader, number, wire type) reads or skips the
// field's value and returns false when it is malformed. False when a tag or a field is malformed.
template <class Field>
bool forEachField(std::string_view bytes, Field field) {
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t f;
    WireType t;
    if (!r.readTag(&f, &t) || !field(r, f, t)) return false;
  }
  return true;
}

// A map<string, string> entry; a repeated key keeps its last value.
bool readMapEntry(std::string_view bytes, std::vector<StringMapEntry>* out) {
  StringMapEntry e;
  const bool ok = forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    return f == 1 ? readString(r, t, &e.key) : f == 2 ? readString(r, t, &e.value) : r.skip(t);
  });
  if (!ok) return false;
  // Past the largest map a request may have, the request will be refused anyway: entries are
  // only counted, not compared (a scan per entry would be quadratic in a hostile request).
  if (out->size() <= kMaxScannedEntries) {
    for (StringMapEntry& have : *out) {
      if (have.key == e.key) {
        have.value = e.value;
        return true;
      }
    }
  }
  out->push_back(e);
  return true;
}

bool readSocketAddress(std::string_view bytes, PeerView* p) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    bool ok = true;
    uint64_t v;
    std::string_view ignored;
    switch (f) {
      case 2:
        ok = readString(r, t, &p->address);
        break;
      case 3:  // port_value (oneof port_specifier)
        ok = readVarint(r, t, &v);
        if (ok && t == WireType::Varint) {
          p->has_port = true;
          p->port = static_cast<uint32_t>(v);
        }
        break;
      case 4:  // named_port (oneof port_specifier)
        ok = readString(r, t, &ignored);
        if (ok && t == WireType::Len) p->has_port = false;
        break;
      default:
        ok = r.skip(t);
    }
    return ok;
  });
}

bool readAddress(std::string_view bytes, PeerView* p) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    if (t == WireType::Len && f >= 1 && f <= 3) {
      std::string_view sub;
      if (!r.readLen(&sub)) return false;
      if (f == 1) {
        if (!p->has_socket_address) {  // the oneof switches to socket_address: a fresh one
          p->address = {};
          p->has_port = false;
          p->port = 0;
        }
        p->has_socket_address = true;
        if (!readSocketAddress(sub, p)) return false;
      } else {  // pipe or envoy_internal_address: no socket address any more
        p->has_socket_address = false;
        p->address = {};
        p->has_port = false;
        p->port = 0;
      }
    } else if (!r.skip(t)) {
      return false;
    }
    return true;
  });
}

bool readPeer(std::string_view bytes, PeerView* p) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    bool ok = true;
    std::string_view sub;
    switch (f) {
      case 1:
        ok = readString(r, t, &sub) && (t != WireType::Len || readAddress(sub, p));
        break;
      case 2:
        ok = readString(r, t, &p->service);
        break;
      case 3:
        ok = readString(r, t, &sub) && (t != WireType::Len || readMapEntry(sub, &p->labels));
        break;
      case 4:
        ok = readString(r, t, &p->principal);
        break;
      case 5:
        ok = readString(r, t, &p->certificate);
        break;
      default:
        ok = r.skip(t);
    }
    return ok;
  });
}

bool readTimestamp(std::string_view bytes, mixer::attribute::Timestamp* ts) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    uint64_t v;
    bool ok = true;
    if (f == 1) {
      ok = readVarint(r, t, &v);
      if (ok && t == WireType::Varint) ts->seconds = static_cast<int64_t>(v);
    } else if (f == 2) {
      ok = readVarint(r, t, &v);
      if (ok && t == WireType::Varint) ts->nanos = static_cast<int32_t>(v);
    } else {
      ok = r.skip(t);
    }
    return ok;
  });
}

bool readHeaderMap(std::string_view bytes, CheckRequestView* out) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    if (f != 1 || t != WireType::Len) {
      return r.skip(t);
    }
    std::string_view hv;
    if (!r.readLen(&hv)) return false;
    // HeaderValue{key = 1, value = 2, raw_value = 3}: raw_value when set, else value.
    std::string_view key, value, raw;
    const bool ok = forEachField(hv, [&](WireReader& h, uint32_t hf, WireType ht) {
      switch (hf) {
        case 1:
          return readString(h, ht, &key);
        case 2:
          return readString(h, ht, &value);
        case 3:
          return readString(h, ht, &raw);
        default:
          return h.skip(ht);
      }
    });
    if (!ok) return false;
    out->raw_headers.push_back({key, raw.empty() ? value : raw});
    return true;
  });
}

bool readHttp(std::string_view bytes, CheckRequestView* out) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    bool ok = true;
    std::string_view sub;
    uint64_t v;
    switch (f) {
      case 1:
        ok = readString(r, t, &out->id);
        break;
      case 2:
        ok = readString(r, t, &out->method);
        break;
      case 3:
        ok = readString(r, t, &sub) && (t != WireType::Len || readMapEntry(sub, &out->headers));
        break;
      case 4:
        ok = readString(r, t, &out->path);
        break;
      case 5:
        ok = readString(r, t, &out->host);
        break;
      case 6:
        ok = readString(r, t, &out->scheme);
        break;
      case 9:
        ok = readVarint(r, t, &v);
        if (ok && t == WireType::Varint) out->size = static_cast<int64_t>(v);
        break;
      case 10:
        ok = readString(r, t, &out->protocol);
        break;
      case 13:
        ok = readString(r, t, &sub);
        if (ok && t == WireType::Len) {
          out->has_header_map = true;
          ok = readHeaderMap(sub, out);
        }
        break;
      default:
        ok = r.skip(t);
    }
    return ok;
  });
}

bool readRequest(std::string_view bytes, CheckRequestView* out) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    std::string_view sub;
    bool ok = true;
    if ((f == 1 || f == 2) && t == WireType::Len) {
      ok = r.readLen(&sub);
      if (ok && f == 1) {
        out->has_time = true;
        ok = readTimestamp(sub, &out->time);
      } else if (ok) {
        out->has_http = true;
        ok = readHttp(sub, out);
      }
    } else {
      ok = r.skip(t);
    }
    return ok;
  });
}

bool readTlsSession(std::string_view bytes, CheckRequestView* out) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    return f == 1 ? readString(r, t, &out->sni) : r.skip(t);
  });
}

bool readAttributes(std::string_view bytes, CheckRequestView* out) {
  return forEachField(bytes, [&](WireReader& r, uint32_t f, WireType t) {
    if (t != WireType::Len) {
      return r.skip(t);
    }
    std::string_view sub;
    if (!r.readLen(&sub)) return false;
    bool ok = true;
    switch (f) {
      case 1:
        ok = readPeer(sub, &out->source);
        break;
      case 2:
        ok = readPeer(sub, &out->destination);
        break;
      case 4:
        ok = readRequest(sub, out);
        break;
      case 10:
        ok = readMapEntry(sub, &out->context_extensions);
        break;
      case 12:
        out->has_tls_session = true;
        ok = readTlsSession(sub, out);
        break;
      default:
        break;  // metadata, unknown fields: skipped
    }
    return ok;
  });
}

}  // namespace

void PeerView::clear() {
  auto l = std::move(labels);
  l.clear();
  *this = PeerView{};
  labels = std::move(l);
}

void CheckRequestView::clear() {
  auto h = std::move(headers), rh = std::move(raw_headers), ce = std::move(context_extensions);
  auto sl = std::move(source.labels), dl = std::move(destination.labels);
  *this = CheckRequestView{};
  h.clear();
  rh.clear();
  ce.clear();
  sl.clear();
  dl.clear();
  headers = std::move(h);
  raw_headers = std::move(rh);
  context_extensions = std::move(ce);
  source.labels = std::move(sl);
  destination.labels = std::move(dl);
}

absl::Status parseAuthzCheckRequest(std::string_view bytes, CheckRequestView* out) {
  out->clear();
  WireReader r(bytes);
  while (!r.done()) {
    uint32_t f;
    WireType t;
    if (!r.readTag(&f, &t)) return malformed("bad field tag");
    if (f == 1 && t == WireType::Len) {
      std::string_view sub;
      if (!r.readLen(&sub)) return malformed("attributes: truncated");
      if (!readAttributes(sub, out)) return malformed("attributes: not an AttributeContext");
    } else if (!r.skip(t)) {
      return malformed("truncated field");
    }
  }
  return absl::OkStatus();
}

}  // namespace frontends::envoy
