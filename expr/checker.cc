#include "expr/checker.h"

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/go_duration.h"
#include "expr/parser.h"
#include "expr/str_util.h"

namespace expr {

namespace {

std::string_view mixerFunctionName(std::string_view fn) {
  static const auto* names = new absl::flat_hash_map<std::string_view, std::string_view>{
      {"_==_", "EQ"},  {"_!=_", "NEQ"},  {"_<_", "LT"},      {"_<=_", "LEQ"}, {"_>_", "GT"},
      {"_>=_", "GEQ"}, {"_&&_", "LAND"}, {"_||_", "LOR"},    {"_|_", "OR"},   {"_+_", "ADD"},
      {"_-_", "SUB"},  {"_*_", "MUL"},   {"_/_", "QUO"},     {"_%_", "REM"},  {"_[_]", "INDEX"},
      {"!_", "NOT"},   {"-_", "SUB"},    {"+_", "ADD"},      {"_&_", "AND"},  {"_^_", "XOR"},
      {"_<<_", "SHL"}, {"_>>_", "SHR"},  {"_&^_", "AND_NOT"}};
  auto it = names->find(fn);
  return it == names->end() ? fn : it->second;
}

// Signatures of CEXL functions. kUnspecified is the template type T.
struct CexlSignature {
  bool instance;
  std::vector<ValueType> args;  // for instance functions, args[0] is the target
  ValueType result;
};

const absl::flat_hash_map<std::string_view, CexlSignature>& cexlFunctions() {
  using V = ValueType;
  static const auto* fns = new absl::flat_hash_map<std::string_view, CexlSignature>{
      {"_==_", {false, {V::kUnspecified, V::kUnspecified}, V::kBool}},
      {"_!=_", {false, {V::kUnspecified, V::kUnspecified}, V::kBool}},
      {"_<_", {false, {V::kUnspecified, V::kUnspecified}, V::kBool}},
      {"_<=_", {false, {V::kUnspecified, V::kUnspecified}, V::kBool}},
      {"_>_", {false, {V::kUnspecified, V::kUnspecified}, V::kBool}},
      {"_>=_", {false, {V::kUnspecified, V::kUnspecified}, V::kBool}},
      {"_&&_", {false, {V::kBool, V::kBool}, V::kBool}},
      {"_||_", {false, {V::kBool, V::kBool}, V::kBool}},
      {"_|_", {false, {V::kUnspecified, V::kUnspecified}, V::kUnspecified}},
      {"_+_", {false, {V::kUnspecified, V::kUnspecified}, V::kUnspecified}},
      {"+_", {false, {V::kUnspecified, V::kUnspecified}, V::kUnspecified}},
      {"_[_]", {false, {V::kStringMap, V::kString}, V::kString}},
      {"conditional", {false, {V::kBool, V::kUnspecified, V::kUnspecified}, V::kUnspecified}},
      {"conditionalString", {false, {V::kBool, V::kString, V::kString}, V::kString}},
      {"size", {false, {V::kString}, V::kInt64}},
      {"ip", {false, {V::kString}, V::kIpAddress}},
      {"timestamp", {false, {V::kString}, V::kTimestamp}},
      {"dnsName", {false, {V::kString}, V::kDnsName}},
      {"email", {false, {V::kString}, V::kEmailAddress}},
      {"uri", {false, {V::kString}, V::kUri}},
      {"match", {false, {V::kString, V::kString}, V::kBool}},
      {"emptyStringMap", {false, {}, V::kStringMap}},
      {"toLower", {false, {V::kString}, V::kString}},
      {"matches", {true, {V::kString, V::kString}, V::kBool}},
      {"startsWith", {true, {V::kString, V::kString}, V::kBool}},
      {"endsWith", {true, {V::kString, V::kString}, V::kBool}},
  };
  return *fns;
}

// CEL functions the runtime implements: name -> result type (kDyn when it depends on arguments).
const absl::flat_hash_map<std::string_view, ValueType>& celFunctions() {
  using V = ValueType;
  static const auto* fns = new absl::flat_hash_map<std::string_view, ValueType>{
      {"_==_", V::kBool},
      {"_!=_", V::kBool},
      {"_<_", V::kBool},
      {"_<=_", V::kBool},
      {"_>_", V::kBool},
      {"_>=_", V::kBool},
      {"_&&_", V::kBool},
      {"_||_", V::kBool},
      {"!_", V::kBool},
      {"@in", V::kBool},
      {"_?_:_", V::kDyn},
      {"_+_", V::kDyn},
      {"_-_", V::kDyn},
      {"_*_", V::kDyn},
      {"_/_", V::kDyn},
      {"_%_", V::kDyn},
      {"-_", V::kDyn},
      {"_[_]", V::kDyn},
      {"size", V::kInt64},
      {"contains", V::kBool},
      {"startsWith", V::kBool},
      {"endsWith", V::kBool},
      {"matches", V::kBool},
      {"int", V::kInt64},
      {"uint", V::kUint64},
      {"double", V::kDouble},
      {"string", V::kString},
      {"bytes", V::kBytes},
      {"bool", V::kBool},
      {"timestamp", V::kTimestamp},
      {"duration", V::kDuration},
      {"dyn", V::kDyn},
      {"type", V::kType},
      {"getFullYear", V::kInt64},
      {"getMonth", V::kInt64},
      {"getDate", V::kInt64},
      {"getDayOfMonth", V::kInt64},
      {"getDayOfWeek", V::kInt64},
      {"getDayOfYear", V::kInt64},
      {"getHours", V::kInt64},
      {"getMinutes", V::kInt64},
      {"getSeconds", V::kInt64},
      {"getMilliseconds", V::kInt64},
      // CEXL functions kept in CEL mode.
      {"match", V::kBool},
      {"toLower", V::kString},
      {"emptyStringMap", V::kStringMap},
      {"conditional", V::kDyn},
      {"dnsName", V::kDnsName},
      {"email", V::kEmailAddress},
      {"uri", V::kUri},
      // Strings extension (subset).
      {"lowerAscii", V::kString},
      {"upperAscii", V::kString},
      {"trim", V::kString},
      {"charAt", V::kString},
      {"indexOf", V::kInt64},
      {"lastIndexOf", V::kInt64},
      {"substring", V::kString},
      {"replace", V::kString},
      {"split", V::kList},
      {"join", V::kString},
      {"reverse", V::kString},
      // Network extension.
      {"ip", V::kIpAddress},
      {"ip.isCanonical", V::kBool},
      {"strings.quote", V::kString},
      {"format", V::kString},
      {"isIP", V::kBool},
      {"cidr", V::kDyn},
      {"family", V::kInt64},
      {"isUnspecified", V::kBool},
      {"isLoopback", V::kBool},
      {"isGlobalUnicast", V::kBool},
      {"isLinkLocalMulticast", V::kBool},
      {"isLinkLocalUnicast", V::kBool},
      {"containsIP", V::kBool},
      {"containsCIDR", V::kBool},
      {"prefixLength", V::kInt64},
      {"masked", V::kDyn},
      {"isCanonical", V::kBool},
  };
  return *fns;
}

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

class Checker {
 public:
  Checker(const AttributeManifest& manifest, const CheckOptions& options, TypeCheckResult* result)
      : manifest_(manifest),
        options_(options),
        result_(result),
        cexl_(options.dialect == Dialect::kCexl) {}

  absl::Status run(Node* root) {
    visit(root);
    if (error_) return positionedError(error_->pos, error_->message);
    return absl::OkStatus();
  }

 private:
  void fail(const Node* n, std::string_view msg) {
    if (!error_) error_ = PositionedError{n->pos, std::string(msg)};
  }

  // Mixer-style rendering of an argument for type errors: $attr, literals, NAME(args).
  std::string describe(const Node* n) {
    switch (n->kind) {
      case Node::Kind::kLiteral:
        switch (n->literal_type) {
          case ValueType::kString:
          case ValueType::kDuration:
            return goQuote(n->text);
          case ValueType::kInt64:
            return strCat(n->int_value);
          case ValueType::kDouble: {
            std::string s = strCat(n->double_value);
            if (s.find_first_of(".e") == std::string::npos) s += ".0";
            return s;
          }
          case ValueType::kBool:
            return n->bool_value ? "true" : "false";
          default:
            return "?";
        }
      case Node::Kind::kIdent:
        return strCat("$", n->name);
      case Node::Kind::kSelect: {
        std::string path;
        if (flattenPath(n, &path)) return strCat("$", path);
        return strCat(describe(n->children[0].get()), ".", n->name);
      }
      case Node::Kind::kCall: {
        std::vector<std::string> args;
        size_t first = n->has_target ? 1 : 0;
        for (size_t i = first; i < n->children.size(); ++i) {
          args.push_back(describe(n->children[i].get()));
        }
        std::string prefix = n->has_target ? describe(n->children[0].get()) + ":" : "";
        return strCat(prefix, mixerFunctionName(n->name), "(", absl::StrJoin(args, ", "), ")");
      }
      default:
        return "?";
    }
  }

  // a.b.c made only of identifiers -> "a.b.c".
  static bool flattenPath(const Node* n, std::string* out) {
    if (n->kind == Node::Kind::kIdent) {
      *out = n->name;
      return true;
    }
    if (n->kind != Node::Kind::kSelect) return false;
    if (!flattenPath(n->children[0].get(), out)) return false;
    strAppend(out, ".", n->name);
    return true;
  }

  int32_t addAttribute(const AttributeManifest::Entry& e) {
    auto it = attr_index_.find(e.name);
    if (it != attr_index_.end()) return it->second;
    result_->attributes.push_back(ResolvedAttribute{e.name, e.id, e.type});
    int32_t idx = static_cast<int32_t>(result_->attributes.size() - 1);
    attr_index_.emplace(e.name, idx);
    return idx;
  }

  // Turns `n` into an attribute read.
  void becomeAttribute(Node* n, const std::string& name, const AttributeManifest::Entry& e) {
    n->kind = Node::Kind::kIdent;
    n->name = name;
    n->children.clear();
    n->attribute = addAttribute(e);
    n->type = e.type == ValueType::kUnspecified ? ValueType::kDyn : e.type;
  }

  void unknownName(Node* n, const std::string& name) {
    if (cexl_) {
      fail(n, strCat("unknown attribute ", name));
    } else if (options_.strict) {
      fail(n, strCat("undeclared reference to '", name, "'"));
    } else {
      // Resolved at run time to an "undeclared reference" error.
      n->kind = Node::Kind::kIdent;
      n->name = name;
      n->children.clear();
      n->attribute = -1;
      n->slot = -1;
      n->type = ValueType::kDyn;
    }
  }

  std::optional<int32_t> findLocal(std::string_view name) {
    for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return std::nullopt;
  }

  void visitPath(Node* n) {
    std::string path;
    if (!flattenPath(n, &path)) {
      // CEL field selection on a computed value.
      visit(n->children[0].get());
      n->type = ValueType::kDyn;
      return;
    }
    if (cexl_) {
      const auto* e = manifest_.find(path);
      if (e == nullptr) return unknownName(n, path);
      return becomeAttribute(n, path, *e);
    }
    // CEL: a leading dot forces the root scope; otherwise locals shadow attributes.
    bool rooted = path[0] == '.';
    std::string name = rooted ? path.substr(1) : path;
    std::vector<Node*> chain;  // chain[0] = n, chain.back() = the leading identifier
    for (Node* c = n;; c = c->children[0].get()) {
      chain.push_back(c);
      if (c->kind == Node::Kind::kIdent) break;
    }
    std::string first = chain.back()->name;
    if (rooted) first = first.substr(1);
    if (!rooted) {
      if (auto slot = findLocal(first)) {
        Node* id = chain.back();
        id->slot = *slot;
        id->type = ValueType::kDyn;
        for (size_t i = chain.size() - 1; i-- > 0;) chain[i]->type = ValueType::kDyn;
        return;
      }
    }
    // Longest prefix that names an attribute.
    for (size_t k = 0; k < chain.size(); ++k) {
      std::string prefix;
      flattenPath(chain[k], &prefix);
      if (rooted) prefix = prefix.substr(1);
      if (const auto* e = manifest_.find(prefix)) {
        becomeAttribute(chain[k], prefix, *e);
        for (size_t i = 0; i < k; ++i) chain[i]->type = ValueType::kDyn;
        if (k > 0 && chain[k]->type == ValueType::kStringMap && k == 1) {
          chain[0]->type = ValueType::kString;
        }
        return;
      }
    }
    unknownName(n, name);
  }

  void visit(Node* n) {
    if (error_) return;
    switch (n->kind) {
      case Node::Kind::kLiteral: {
        n->type = n->literal_type;
        int64_t nanos;
        if (cexl_ && n->literal_type == ValueType::kString &&
            mixer::base::parseGoDuration(n->text, &nanos)) {
          // Istio quirk: a string literal that parses as a Go duration is a DURATION.
          n->literal_type = ValueType::kDuration;
          n->int_value = nanos;
          n->type = ValueType::kDuration;
        }
        return;
      }
      case Node::Kind::kIdent:
        if (cexl_ && (n->name.size() == 4 || n->name.size() == 5)) {
          std::string lower;
          for (char c : n->name) lower.push_back(static_cast<char>(std::tolower(c)));
          if (lower == "true" || lower == "false") {
            n->kind = Node::Kind::kLiteral;
            n->literal_type = ValueType::kBool;
            n->bool_value = lower == "true";
            n->type = ValueType::kBool;
            return;
          }
        }
        return visitPath(n);
      case Node::Kind::kSelect:
        return visitPath(n);
      case Node::Kind::kList:
        for (auto& c : n->children) visit(c.get());
        n->type = ValueType::kList;
        return;
      case Node::Kind::kMap:
        for (auto& c : n->children) visit(c.get());
        n->type = ValueType::kMap;
        return;
      case Node::Kind::kHas: {
        Node* sel = n->children[0].get();
        visit(sel->children[0].get());
        n->type = ValueType::kBool;
        return;
      }
      case Node::Kind::kMacro: {
        visit(n->children[0].get());
        int32_t base = next_slot_;
        next_slot_ += 3;  // iteration variable, accumulator, range
        result_->slot_count = std::max(result_->slot_count, next_slot_);
        n->slot = base;
        locals_.emplace_back(n->name, base);
        for (size_t i = 1; i < n->children.size(); ++i) visit(n->children[i].get());
        locals_.pop_back();
        next_slot_ = base;
        n->type = (n->macro == MacroKind::kMap || n->macro == MacroKind::kMapFilter ||
                   n->macro == MacroKind::kFilter)
                      ? ValueType::kList
                      : ValueType::kBool;
        return;
      }
      case Node::Kind::kCall:
        if (!cexl_ && n->has_target) resolveNamespacedCall(n);
        for (auto& c : n->children) visit(c.get());
        if (error_) return;
        if (cexl_) return checkCexlCall(n);
        return checkCelCall(n);
    }
  }

  // CEL: `ns.fn(args)` where `ns` names no variable is a call of the function "ns.fn"
  // (e.g. ip.isCanonical, strings.quote).
  void resolveNamespacedCall(Node* n) {
    std::string path;
    if (!flattenPath(n->children[0].get(), &path) || path[0] == '.') return;
    std::string first = path.substr(0, path.find('.'));
    if (findLocal(first)) return;
    for (std::string prefix = path;;) {
      if (manifest_.find(prefix) != nullptr) return;
      size_t dot = prefix.rfind('.');
      if (dot == std::string::npos) break;
      prefix.resize(dot);
    }
    std::string qualified = strCat(path, ".", n->name);
    if (!celFunctions().contains(qualified)) return;
    n->name = qualified;
    n->has_target = false;
    n->children.erase(n->children.begin());
  }

  void checkCelCall(Node* n) {
    const auto& fns = celFunctions();
    auto it = fns.find(n->name);
    if (it == fns.end()) {
      if (options_.strict) {
        fail(n, strCat("undeclared reference to '", n->name, "'"));
      }
      n->type = ValueType::kDyn;
      return;
    }
    n->type = it->second;
    auto argType = [&](size_t i) { return n->children[i]->type; };
    if (n->type == ValueType::kDyn && n->children.size() >= 2) {
      if (n->name == "_?_:_") {
        if (argType(1) == argType(2)) n->type = argType(1);
      } else if (n->name == "_+_" || n->name == "_-_" || n->name == "_*_" || n->name == "_/_" ||
                 n->name == "_%_") {
        if (argType(0) == argType(1) && argType(0) != ValueType::kDyn) n->type = argType(0);
      } else if (n->name == "_[_]" && argType(0) == ValueType::kStringMap) {
        n->type = ValueType::kString;
      }
    } else if (n->name == "-_" && !n->children.empty()) {
      n->type = argType(0);
    }
  }

  void checkCexlCall(Node* n) {
    const auto& fns = cexlFunctions();
    auto it = fns.find(n->name);
    if (it == fns.end()) {
      return fail(n, strCat("unknown function: ", mixerFunctionName(n->name)));
    }
    const CexlSignature& sig = it->second;
    if (sig.instance && !n->has_target) {
      return fail(n, strCat("invoking instance method without an instance: ", n->name));
    }
    if (!sig.instance && n->has_target) {
      return fail(n, strCat("invoking regular function on instance method: ", n->name));
    }
    const size_t nargs = n->children.size();
    if (nargs != sig.args.size()) {
      size_t off = sig.instance ? 1 : 0;
      return fail(n, strCat(describe(n), " arity mismatch. Got ", nargs - off, " arg(s), expected ",
                            sig.args.size() - off, " arg(s)"));
    }
    ValueType t = ValueType::kUnspecified;
    for (size_t i = 0; i < nargs; ++i) {
      ValueType want = sig.args[i];
      ValueType got = n->children[i]->type;
      if (want == ValueType::kUnspecified) {
        if (t == ValueType::kUnspecified) {
          t = got;
          continue;
        }
        want = t;
      }
      if (got != want) {
        size_t argno = sig.instance ? i : i + 1;
        return fail(
            n, strCat(describe(n), " arg ", argno, " (", describe(n->children[i].get()),
                      ") typeError got ", valueTypeName(got), ", expected ", valueTypeName(want)));
      }
    }
    n->type = sig.result == ValueType::kUnspecified ? t : sig.result;
    // Operations the code generator supports only for some types.
    const std::string& f = n->name;
    if (f == "_+_" && t != ValueType::kString && t != ValueType::kInt64 &&
        t != ValueType::kDouble) {
      return fail(n, strCat("ADD is not supported for type ", valueTypeName(t)));
    }
    if ((f == "_<_" || f == "_<=_" || f == "_>_" || f == "_>=_") && t != ValueType::kString &&
        t != ValueType::kInt64 && t != ValueType::kDouble && t != ValueType::kTimestamp &&
        t != ValueType::kDuration) {
      return fail(n, strCat(mixerFunctionName(f), " is not supported for type ", valueTypeName(t)));
    }
  }

  const AttributeManifest& manifest_;
  const CheckOptions& options_;
  TypeCheckResult* result_;
  bool cexl_;
  std::optional<PositionedError> error_;
  absl::flat_hash_map<std::string, int32_t, StringViewHash, StringViewEq> attr_index_;
  std::vector<std::pair<std::string, int32_t>> locals_;
  int32_t next_slot_ = 0;
};

}  // namespace

absl::Status check(Node* root, const AttributeManifest& manifest, const CheckOptions& options,
                   TypeCheckResult* result) {
  Checker c(manifest, options, result);
  return c.run(root);
}

}  // namespace expr
