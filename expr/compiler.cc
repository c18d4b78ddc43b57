// Compiles a checked AST to bytecode: constant folding, short-circuit jumps, `|` as
// jump-on-present, precompiled regular expressions.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "expr/builtins.h"
#include "expr/evaluator.h"
#include "expr/parser.h"
#include "expr/program.h"
#include "expr/str_util.h"
#include "re2/re2.h"

namespace expr {

Program::~Program() = default;

std::string_view Program::internString(std::string_view s) {
  strings_.emplace_back(s);
  return strings_.back();
}

Value Program::intern(const Value& v) {
  Value out = v;
  switch (v.type) {
    case ValueType::kString:
    case ValueType::kBytes:
    case ValueType::kIpAddress:
    case ValueType::kCidr:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
    case ValueType::kDnsName:
    case ValueType::kType:
    case ValueType::kError: {
      std::string_view s = internString(v.stringView());
      out.str.data = s.data();
      out.str.size = s.size();
      return out;
    }
    case ValueType::kList: {
      auto& arr = value_arrays_.emplace_back();
      for (size_t i = 0; i < v.list->size; ++i) arr.push_back(intern(v.list->elements[i]));
      lists_.push_back(ListValue{arr.data(), arr.size()});
      out.list = &lists_.back();
      return out;
    }
    case ValueType::kMap: {
      auto& keys = value_arrays_.emplace_back();
      auto& vals = value_arrays_.emplace_back();
      for (size_t i = 0; i < v.map->size; ++i) {
        keys.push_back(intern(v.map->keys[i]));
        vals.push_back(intern(v.map->values[i]));
      }
      maps_.push_back(MapValue{keys.data(), vals.data(), keys.size()});
      out.map = &maps_.back();
      return out;
    }
    default:
      return out;
  }
}

namespace {
const char* opName(Op op) {
  static const char* kNames[] = {"const",
                                 "load",
                                 "try_load",
                                 "load_slot",
                                 "store_slot",
                                 "jump",
                                 "and",
                                 "or",
                                 "and_cel",
                                 "or_cel",
                                 "and_merge",
                                 "or_merge",
                                 "cond_jump",
                                 "not",
                                 "neg",
                                 "eq",
                                 "ne",
                                 "lt",
                                 "le",
                                 "gt",
                                 "ge",
                                 "add",
                                 "sub",
                                 "mul",
                                 "div",
                                 "mod",
                                 "index",
                                 "try_index",
                                 "select",
                                 "has",
                                 "in",
                                 "make_list",
                                 "make_map",
                                 "call",
                                 "match_regex",
                                 "iter_init",
                                 "iter_next",
                                 "accumulate",
                                 "exists_one_end",
                                 "eq_attr_const",
                                 "ne_attr_const",
                                 "index_const",
                                 "try_index_const",
                                 "glob",
                                 "glob_attr",
                                 "eq_const",
                                 "ne_const",
                                 "attr_index_const",
                                 "try_attr_index_const"};
  static_assert(sizeof(kNames) / sizeof(kNames[0]) ==
                static_cast<size_t>(Op::kTryAttrIndexConst) + 1);
  return kNames[static_cast<int>(op)];
}
}  // namespace

std::string Program::disassemble() const {
  std::string out;
  for (size_t i = 0; i < code_.size(); ++i) {
    const Instr& in = code_[i];
    strAppend(&out, i, ": ", opName(in.op), " a=", in.a, " b=", in.b, " n=", in.n,
              " depth=", in.depth);
    if (in.c != 0) strAppend(&out, " c=", in.c);
    if (in.op == Op::kLoad || in.op == Op::kTryLoad || in.op == Op::kEqAttrConst ||
        in.op == Op::kAttrIndexConst || in.op == Op::kTryAttrIndexConst ||
        in.op == Op::kNeAttrConst) {
      strAppend(&out, " (", attributes_[in.a].name, ")");
    } else if (in.op == Op::kGlobAttr) {
      strAppend(&out, " (", attributes_[in.b].name, ")");
    } else if (in.op == Op::kCall) {
      strAppend(&out, " (", builtinAt(in.a).name, ")");
    }
    out += "\n";
  }
  return out;
}

class Compiler {
 public:
  Compiler(Program* p, const CompileOptions& options)
      : p_(p), options_(options), cexl_(options.dialect == Dialect::kCexl) {}

  absl::Status run(Node* root) {
    compile(root);
    if (error_) return positionedError(error_->pos, error_->message);
    return absl::OkStatus();
  }

 private:
  void fail(const Node* n, std::string_view msg) {
    if (!error_) error_ = PositionedError{n->pos, std::string(msg)};
  }

  // Emits an instruction that changes the stack depth by `delta`.
  size_t emit(Instr in, int delta) {
    p_->code_.push_back(in);
    depth_ += delta;
    p_->max_stack_ = std::max(p_->max_stack_, depth_);
    return p_->code_.size() - 1;
  }
  size_t here() const { return p_->code_.size(); }
  void patchA(size_t at) { p_->code_[at].a = static_cast<int32_t>(here()); }
  void patchB(size_t at) { p_->code_[at].b = static_cast<int32_t>(here()); }

  int32_t addConstant(const Value& v) {
    p_->constants_.push_back(v);
    return static_cast<int32_t>(p_->constants_.size() - 1);
  }
  void emitConst(const Value& v) { emit(Instr{Op::kConst, 0, 0, addConstant(v), 0}, 1); }

  bool isConstAt(size_t i) const { return i < p_->code_.size() && p_->code_[i].op == Op::kConst; }

  // If the code emitted since `start` reads no attributes, no slots and no activation, evaluates
  // it now and replaces it with its constant result (unless the result is an error, which stays a
  // run-time error).
  void tryFold(size_t start, bool children_constant) {
    if (!children_constant) return;
    for (size_t i = start; i < here(); ++i) {
      Op op = p_->code_[i].op;
      if (op == Op::kLoad || op == Op::kTryLoad || op == Op::kLoadSlot || op == Op::kStoreSlot ||
          op == Op::kEqAttrConst || op == Op::kNeAttrConst || op == Op::kGlobAttr ||
          op == Op::kAttrIndexConst || op == Op::kTryAttrIndexConst || op == Op::kIterInit ||
          op == Op::kIterNext) {
        return;
      }
    }
    EvalState scratch;
    Value v = Evaluator::run(*p_, start, here(), EmptyActivation(), &scratch);
    if (v.isError()) return;
    Value interned = p_->intern(v);
    p_->code_.resize(start);
    depth_ -= 1;
    emitConst(interned);
  }

  // Pushes the node's value. Returns true when the emitted code is a single constant.
  bool compile(Node* n) {
    if (error_) return false;
    const size_t start = here();
    switch (n->kind) {
      case Node::Kind::kLiteral:
        emitConst(literalValue(n));
        return true;
      case Node::Kind::kIdent:
        if (n->attribute >= 0) {
          emit(Instr{Op::kLoad, 0, 0, n->attribute, 0}, 1);
        } else if (n->slot >= 0) {
          emit(Instr{Op::kLoadSlot, 0, 0, n->slot, 0}, 1);
        } else {
          emitConst(
              p_->intern(Value::makeError(strCat("undeclared reference to '", n->name, "'"))));
          return true;
        }
        return false;
      case Node::Kind::kSelect: {
        bool c = compile(n->children[0].get());
        Value field = p_->intern(Value::makeString(n->name));
        emit(Instr{Op::kSelect, 0, 0, addConstant(field), 0}, 0);
        tryFold(start, c);
        return c && isConstAt(start) && here() == start + 1;
      }
      case Node::Kind::kHas: {
        Node* sel = n->children[0].get();
        bool c = compile(sel->children[0].get());
        Value field = p_->intern(Value::makeString(sel->name));
        emit(Instr{Op::kHas, 0, 0, addConstant(field), 0}, 0);
        tryFold(start, c);
        return c && isConstAt(start) && here() == start + 1;
      }
      case Node::Kind::kList:
      case Node::Kind::kMap: {
        bool all = true;
        for (auto& c : n->children) all &= compile(c.get());
        int count = static_cast<int>(n->children.size());
        if (n->kind == Node::Kind::kList) {
          emit(Instr{Op::kMakeList, 0, 0, count, 0}, 1 - count);
        } else {
          emit(Instr{Op::kMakeMap, 0, 0, count / 2, 0}, 1 - count);
        }
        tryFold(start, all);
        return all && isConstAt(start) && here() == start + 1;
      }
      case Node::Kind::kMacro:
        compileMacro(n);
        return false;
      case Node::Kind::kCall:
        return compileCall(n);
    }
    return false;
  }

  Value literalValue(const Node* n) {
    switch (n->literal_type) {
      case ValueType::kString:
        return p_->intern(Value::makeString(n->text));
      case ValueType::kBytes:
        return p_->intern(Value::makeBytes(n->text));
      case ValueType::kInt64:
        return Value::makeInt(n->int_value);
      case ValueType::kUint64:
        return Value::makeUint(n->uint_value);
      case ValueType::kDouble:
        return Value::makeDouble(n->double_value);
      case ValueType::kBool:
        return Value::makeBool(n->bool_value);
      case ValueType::kNull:
        return Value::makeNull();
      case ValueType::kDuration:
        return Value::makeDuration(n->int_value);
      case ValueType::kType:
        return p_->intern(Value::makeType(n->text));
      default:
        return Value::makeNull();
    }
  }

  // Attribute reads and map lookups whose absence makes `|` fall through to the next alternative.
  static bool isPresenceTested(const Node* n) {
    if (n->kind == Node::Kind::kIdent && n->attribute >= 0) return true;
    if (n->kind == Node::Kind::kCall && (n->name == "_[_]" || n->name == "_|_")) return true;
    return false;
  }

  // Pushes the node's value, or restores the stack to `base` and jumps to a location appended to
  // `fails` (patched by the caller) when it has no value.
  void compileTry(Node* n, int base, std::vector<size_t>* fails) {
    if (n->kind == Node::Kind::kIdent && n->attribute >= 0) {
      fails->push_back(
          emit(Instr{Op::kTryLoad, 0, static_cast<uint16_t>(base), n->attribute, 0}, 1));
      return;
    }
    if (n->kind == Node::Kind::kCall && n->name == "_[_]" &&
        n->children[0]->type == ValueType::kStringMap) {
      const size_t before = here();
      compileTry(n->children[0].get(), base, fails);
      const Node* key = n->children[1].get();
      if (key->kind == Node::Kind::kLiteral && key->literal_type == ValueType::kString) {
        int32_t k = addConstant(literalValue(key));
        if (here() == before + 1 && p_->code_[before].op == Op::kTryLoad) {
          // attribute["literal"]: one instruction.
          int32_t attr = p_->code_[before].a;
          p_->code_.pop_back();
          fails->pop_back();
          depth_ -= 1;
          Instr in{Op::kTryAttrIndexConst, 0, static_cast<uint16_t>(base), attr, 0};
          in.c = k;
          fails->push_back(emit(in, 1));
          return;
        }
        fails->push_back(emit(Instr{Op::kTryIndexConst, 0, static_cast<uint16_t>(base), k, 0}, 0));
        return;
      }
      compileTry(n->children[1].get(), base, fails);
      fails->push_back(emit(Instr{Op::kTryIndex, 0, static_cast<uint16_t>(base), 0, 0}, -1));
      return;
    }
    if (n->kind == Node::Kind::kCall && n->name == "_|_") {
      std::vector<Node*> alts;
      flattenOr(n, &alts);
      std::vector<size_t> ends;
      for (size_t i = 0; i < alts.size(); ++i) {
        if (i + 1 == alts.size() || !isPresenceTested(alts[i])) {
          compileTry(alts[i], base, fails);
          break;
        }
        std::vector<size_t> next;
        compileTry(alts[i], depth_, &next);
        ends.push_back(emit(Instr{Op::kJump, 0, 0, 0, 0}, 0));
        depth_ -= 1;  // the fall-through path has no value
        for (size_t at : next) patchB(at);
      }
      for (size_t at : ends) patchA(at);
      return;
    }
    compile(n);
  }

  // CEXL `l && r` / `l || r` where l ends in an attribute superinstruction: that instruction
  // also does the short-circuit test (Instr::depth 1 for &&, 2 for ||; Instr::c the target).
  bool fuseShortCircuit(size_t start, bool and_op) {
    if (here() == start) return false;
    Instr& last = p_->code_.back();
    if (last.op != Op::kEqAttrConst && last.op != Op::kNeAttrConst && last.op != Op::kGlobAttr) {
      return false;
    }
    if (last.depth != 0) return false;
    // Every other jump out of l must be a same-kind exit (retargeted to the end of the whole
    // expression); any other jump to the end of l expects an &&/|| instruction there.
    const int32_t end_of_left = static_cast<int32_t>(here());
    for (size_t i = start; i + 1 < here(); ++i) {
      const Instr& in = p_->code_[i];
      if (jumpsTo(in, end_of_left) && !isExit(in, and_op)) return false;
    }
    last.depth = and_op ? 1 : 2;
    last.c = static_cast<int32_t>(here());  // provisional: "the end of l", retargeted below
    return true;
  }

  // The short-circuit jumps of the same kind inside [start, here()) that leave l (target ==
  // here()): a false l of `l && r` is the result of the enclosing `&&` too, so they jump to its
  // end directly.
  std::vector<size_t> shortCircuitExits(size_t start, bool and_op) {
    std::vector<size_t> out;
    const int32_t end_of_left = static_cast<int32_t>(here());
    for (size_t i = start; i < here(); ++i) {
      Instr& in = p_->code_[i];
      if (isExit(in, and_op) && jumpsTo(in, end_of_left)) out.push_back(i);
    }
    return out;
  }

  static bool isFusable(Op op) {
    return op == Op::kEqAttrConst || op == Op::kNeAttrConst || op == Op::kGlobAttr;
  }
  // A short-circuit jump of the given kind (fused or plain).
  static bool isExit(const Instr& in, bool and_op) {
    return (isFusable(in.op) && in.depth == (and_op ? 1 : 2)) ||
           in.op == (and_op ? Op::kAndCexl : Op::kOrCexl);
  }
  static bool jumpsTo(const Instr& in, int32_t target) {
    switch (in.op) {
      case Op::kJump:
      case Op::kAndCexl:
      case Op::kOrCexl:
      case Op::kAndCel:
      case Op::kOrCel:
        return in.a == target;
      case Op::kCondJump:
        return in.a == target || in.b == target;
      case Op::kTryLoad:
      case Op::kTryIndex:
      case Op::kTryIndexConst:
      case Op::kTryAttrIndexConst:
      case Op::kIterInit:
      case Op::kIterNext:
      case Op::kAccumulate:
        return in.b == target;
      case Op::kEqAttrConst:
      case Op::kNeAttrConst:
      case Op::kGlobAttr:
        return in.depth != 0 && in.c == target;
      default:
        return false;
    }
  }

  int32_t& jumpTarget(size_t at) {
    Instr& in = p_->code_[at];
    return in.op == Op::kAndCexl || in.op == Op::kOrCexl ? in.a : in.c;
  }

  static void flattenOr(Node* n, std::vector<Node*>* out) {
    if (n->kind == Node::Kind::kCall && n->name == "_|_") {
      flattenOr(n->children[0].get(), out);
      out->push_back(n->children[1].get());
      return;
    }
    out->push_back(n);
  }

  bool compileOr(Node* n) {
    const size_t start = here();
    std::vector<Node*> alts;
    flattenOr(n, &alts);
    std::vector<size_t> ends;
    bool constant = false;
    for (size_t i = 0; i < alts.size(); ++i) {
      if (i + 1 == alts.size() || !isPresenceTested(alts[i])) {
        // A constant, call or conditional always has a value: later alternatives are dead.
        constant = compile(alts[i]);
        break;
      }
      std::vector<size_t> next;
      compileTry(alts[i], depth_, &next);
      ends.push_back(emit(Instr{Op::kJump, 0, 0, 0, 0}, 0));
      depth_ -= 1;
      for (size_t at : next) patchB(at);
    }
    for (size_t at : ends) patchA(at);
    return constant && ends.empty() && here() == start + 1;
  }

  bool compileCall(Node* n) {
    const size_t start = here();
    const std::string& f = n->name;
    auto& args = n->children;
    if (f == "_|_") return compileOr(n);
    if (f == "_&&_" || f == "_||_") {
      bool and_op = f == "_&&_";
      bool c0 = compile(args[0].get());
      size_t jump;
      if (cexl_ && fuseShortCircuit(start, and_op)) {
        // The left operand's last instruction now jumps to the end when it decides the result.
        std::vector<size_t> exits = shortCircuitExits(start, and_op);
        depth_ -= 1;  // on the fall-through path the left value is popped
        compile(args[1].get());
        for (size_t at : exits) jumpTarget(at) = static_cast<int32_t>(here());
        return false;
      }
      if (cexl_) {
        jump = emit(Instr{and_op ? Op::kAndCexl : Op::kOrCexl, 0, 0, 0, 0}, -1);
        bool c1 = compile(args[1].get());
        patchA(jump);
        tryFold(start, c0 && c1);
      } else {
        jump = emit(Instr{and_op ? Op::kAndCel : Op::kOrCel, 0, 0, 0, 0}, 0);
        bool c1 = compile(args[1].get());
        emit(Instr{and_op ? Op::kAndMerge : Op::kOrMerge, 0, 0, 0, 0}, -1);
        patchA(jump);
        tryFold(start, c0 && c1);
      }
      return isConstAt(start) && here() == start + 1;
    }
    if (f == "_?_:_" || (cexl_ && f == "conditional")) {
      bool c0 = compile(args[0].get());
      size_t cj = emit(Instr{Op::kCondJump, 0, 0, 0, 0}, -1);
      bool c1 = compile(args[1].get());
      size_t end = emit(Instr{Op::kJump, 0, 0, 0, 0}, 0);
      depth_ -= 1;
      patchA(cj);
      bool c2 = compile(args[2].get());
      patchA(end);
      p_->code_[cj].b = static_cast<int32_t>(here());
      tryFold(start, c0 && c1 && c2);
      return isConstAt(start) && here() == start + 1;
    }
    // Regular expressions with a constant pattern are compiled once, here.
    if (f == "matches" && args.size() == 2) {
      size_t pattern_arg = cexl_ ? 0 : 1;
      Node* pat = args[pattern_arg].get();
      if (pat->kind == Node::Kind::kLiteral && pat->literal_type == ValueType::kString) {
        RE2::Options opts(RE2::Quiet);
        opts.set_max_mem(8 << 20);
        auto re = std::make_unique<RE2>(pat->text, opts);
        if (!re->ok()) {
          fail(pat, strCat("invalid regular expression '", pat->text, "': ", re->error()));
          return false;
        }
        p_->regexes_.push_back(std::move(re));
        bool c = compile(args[1 - pattern_arg].get());
        emit(Instr{Op::kMatchRegex, 0, 0, static_cast<int32_t>(p_->regexes_.size() - 1), 0}, 0);
        tryFold(start, c);
        return isConstAt(start) && here() == start + 1;
      }
    }
    if (f == "_[_]" && args.size() == 2) {
      bool c0 = compile(args[0].get());
      bool c1 = compile(args[1].get());
      if (c1 && !c0 && isConstAt(here() - 1)) {
        int32_t k = p_->code_.back().a;
        p_->code_.pop_back();
        depth_ -= 1;
        if (here() == start + 1 && p_->code_[start].op == Op::kLoad) {
          // attribute["literal"]: one instruction.
          int32_t attr = p_->code_[start].a;
          p_->code_.pop_back();
          depth_ -= 1;
          emit(Instr{Op::kAttrIndexConst, 0, 0, attr, k}, 1);
          return false;
        }
        emit(Instr{Op::kIndexConst, 0, 0, 0, k}, 0);
        return false;
      }
      emit(Instr{Op::kIndex, 0, 0, 0, 0}, -1);
      tryFold(start, c0 && c1);
      return isConstAt(start) && here() == start + 1;
    }
    if (f == "match" && args.size() == 2 && !n->has_target &&
        args[1]->kind == Node::Kind::kLiteral && args[1]->literal_type == ValueType::kString) {
      // Istio's glob: a trailing '*' is a prefix match (checked first), a leading one a suffix.
      std::string_view pat = args[1]->text;
      uint8_t mode = 0;
      if (pat.ends_with('*')) {
        mode = 1;
        pat.remove_suffix(1);
      } else if (pat.starts_with('*')) {
        mode = 2;
        pat.remove_prefix(1);
      }
      bool c = compile(args[0].get());
      int32_t k = addConstant(p_->intern(Value::makeString(pat)));
      if (here() == start + 1 && p_->code_[start].op == Op::kLoad) {
        // match(attribute, "glob"): one instruction.
        int32_t attr = p_->code_[start].a;
        p_->code_.pop_back();
        depth_ -= 1;
        emit(Instr{Op::kGlobAttr, mode, 0, k, attr}, 1);
        return false;
      }
      emit(Instr{Op::kGlob, mode, 0, k, 0}, 0);
      tryFold(start, c);
      return isConstAt(start) && here() == start + 1;
    }
    bool all = true;
    for (auto& a : args) all &= compile(a.get());
    if (error_) return false;
    const int nargs = static_cast<int>(args.size());
    if ((f == "_==_" || f == "_!=_") && here() == start + 2) {
      const Instr x = p_->code_[start], y = p_->code_[start + 1];
      int32_t attr = -1, k = -1;
      if (x.op == Op::kLoad && y.op == Op::kConst) {
        attr = x.a;
        k = y.a;
      } else if (x.op == Op::kConst && y.op == Op::kLoad) {
        attr = y.a;
        k = x.a;
      }
      if (attr >= 0) {
        p_->code_.resize(start);
        depth_ -= 2;
        emit(Instr{f == "_==_" ? Op::kEqAttrConst : Op::kNeAttrConst, 0, 0, attr, k}, 1);
        return false;
      }
    }
    if ((f == "_==_" || f == "_!=_") && !all && args[1]->kind == Node::Kind::kLiteral &&
        isConstAt(here() - 1)) {
      // x == literal (x not constant, since not all operands are): compare the top of the
      // stack with the literal in place.
      int32_t k = p_->code_.back().a;
      p_->code_.pop_back();
      depth_ -= 1;
      emit(Instr{f == "_==_" ? Op::kEqConst : Op::kNeConst, 0, 0, 0, k}, 0);
      return false;
    }
    Op op;
    bool is_op = true;
    if (f == "_==_")
      op = Op::kEq;
    else if (f == "_!=_")
      op = Op::kNe;
    else if (f == "_<_")
      op = Op::kLt;
    else if (f == "_<=_")
      op = Op::kLe;
    else if (f == "_>_")
      op = Op::kGt;
    else if (f == "_>=_")
      op = Op::kGe;
    else if (f == "_+_")
      op = Op::kAdd;
    else if (f == "_-_" && nargs == 2)
      op = Op::kSub;
    else if (f == "_*_")
      op = Op::kMul;
    else if (f == "_/_")
      op = Op::kDiv;
    else if (f == "_%_")
      op = Op::kMod;
    else if (f == "_[_]")
      op = Op::kIndex;
    else if (f == "@in")
      op = Op::kIn;
    else if (f == "!_")
      op = Op::kNot;
    else if (f == "-_")
      op = Op::kNeg;
    else
      is_op = false;
    if (is_op) {
      emit(Instr{op, 0, 0, 0, 0}, 1 - nargs);
    } else {
      int b = findBuiltin(f, n->has_target, nargs, options_.dialect);
      if (b < 0) {
        if (cexl_ || options_.check) {
          fail(n, strCat("no matching overload for '", f, "' with ", nargs, " argument(s)"));
          return false;
        }
        // Unchecked CEL: the mismatch is a run-time error.
        depth_ -= nargs;
        p_->code_.resize(start);
        emitConst(p_->intern(Value::makeError(strCat("no matching overload for '", f, "'"))));
        return true;
      }
      emit(Instr{Op::kCall, static_cast<uint8_t>(nargs), 0, b, 0}, 1 - nargs);
    }
    tryFold(start, all);
    return isConstAt(start) && here() == start + 1;
  }

  void compileMacro(Node* n) {
    const int32_t s = n->slot;  // s: iteration variable, s+1: accumulator, s+2: range
    Value init;
    uint8_t mode = 0;
    switch (n->macro) {
      case MacroKind::kAll:
        init = Value::makeBool(true);
        mode = 0;
        break;
      case MacroKind::kExists:
        init = Value::makeBool(false);
        mode = 1;
        break;
      case MacroKind::kExistsOne:
        init = Value::makeInt(0);
        mode = 2;
        break;
      case MacroKind::kMap:
      case MacroKind::kMapFilter:
        mode = 3;
        init = emptyList();
        break;
      case MacroKind::kFilter:
        mode = 4;
        init = emptyList();
        break;
    }
    // The range first: a range that is itself a comprehension uses the same slots (the checker
    // frees them once it is checked), so this one's accumulator is set only after it has run.
    compile(n->children[0].get());
    emitConst(init);
    emit(Instr{Op::kStoreSlot, 0, 0, s + 1, 0}, -1);
    size_t iter_init = emit(Instr{Op::kIterInit, 0, 0, s, 0}, -1);
    size_t loop = here();
    size_t next = emit(Instr{Op::kIterNext, 0, 0, s, 0}, 0);
    std::vector<size_t> to_done = {iter_init};
    if (n->macro == MacroKind::kMapFilter) {
      compile(n->children[1].get());
      size_t cj = emit(Instr{Op::kCondJump, 0, 0, static_cast<int32_t>(loop), 0}, -1);
      compile(n->children[2].get());
      p_->code_[cj].b = static_cast<int32_t>(here());
    } else {
      compile(n->children[1].get());
    }
    size_t acc = emit(Instr{Op::kAccumulate, mode, 0, s, 0}, -1);
    emit(Instr{Op::kJump, 0, 0, static_cast<int32_t>(loop), 0}, 0);
    patchB(next);
    patchB(acc);
    patchB(iter_init);
    emit(Instr{Op::kLoadSlot, 0, 0, s + 1, 0}, 1);
    if (n->macro == MacroKind::kExistsOne) emit(Instr{Op::kExistsOneEnd, 0, 0, 0, 0}, 0);
  }

  Value emptyList() {
    p_->lists_.push_back(ListValue{nullptr, 0});
    return Value::makeList(&p_->lists_.back());
  }

  Program* p_;
  const CompileOptions& options_;
  bool cexl_;
  int depth_ = 0;
  std::optional<PositionedError> error_;
};

namespace {
bool isCelTypeName(std::string_view name) {
  return name == "int" || name == "uint" || name == "double" || name == "bool" ||
         name == "string" || name == "bytes" || name == "list" || name == "map" ||
         name == "null_type" || name == "type" || name == "google.protobuf.Timestamp" ||
         name == "google.protobuf.Duration" || name == "net.IP" || name == "net.CIDR";
}

// CEL: unresolved identifiers that name a type become type literals.
void resolveTypeNames(Node* n) {
  if (n->kind == Node::Kind::kIdent && n->attribute < 0 && n->slot < 0) {
    std::string name = n->name[0] == '.' ? n->name.substr(1) : n->name;
    if (isCelTypeName(name)) {
      n->kind = Node::Kind::kLiteral;
      n->literal_type = ValueType::kType;
      n->text = name;
      n->type = ValueType::kType;
    }
    return;
  }
  for (auto& c : n->children) resolveTypeNames(c.get());
}
}  // namespace

absl::StatusOr<ProgramConstSharedPtr> compile(std::string_view source,
                                              const AttributeManifest& manifest,
                                              const CompileOptions& options) {
  ParseOptions po;
  po.dialect = options.dialect;
  po.max_expression_length = options.max_expression_length;
  po.max_depth = options.max_depth;
  po.enable_macros = options.enable_macros;
  auto ast = parse(source, po);
  if (!ast.ok()) return ast.status();
  CheckOptions co;
  co.dialect = options.dialect;
  // Type names are resolved after checking, so the checker runs lenient on them.
  co.strict = false;
  TypeCheckResult cr;
  if (auto st = check(ast->get(), manifest, co, &cr); !st.ok()) return st;
  if (options.dialect == Dialect::kCel) {
    resolveTypeNames(ast->get());
    if (options.check) {
      // Anything still unresolved is an undeclared reference.
      std::vector<const Node*> stack = {ast->get()};
      while (!stack.empty()) {
        const Node* n = stack.back();
        stack.pop_back();
        if (n->kind == Node::Kind::kIdent && n->attribute < 0 && n->slot < 0) {
          return positionedError(n->pos, strCat("undeclared reference to '", n->name, "'"));
        }
        for (const auto& c : n->children) stack.push_back(c.get());
      }
    }
  }
  if (options.expected_type != ValueType::kUnspecified && (*ast)->type != options.expected_type &&
      (*ast)->type != ValueType::kDyn) {
    return positionedError(
        (*ast)->pos, strCat("expression has type ", valueTypeName((*ast)->type), ", expected ",
                            valueTypeName(options.expected_type)));
  }
  std::shared_ptr<Program> program(new Program());
  program->dialect_ = options.dialect;
  program->source_ = std::string(source);
  program->result_type_ = (*ast)->type;
  program->attributes_ = std::move(cr.attributes);
  program->slot_count_ = cr.slot_count;
  Compiler c(program.get(), options);
  if (auto st = c.run(ast->get()); !st.ok()) return st;
  program->findReadChain();
  return ProgramConstSharedPtr(std::move(program));
}

void Program::findReadChain() {
  // Each tested read is followed by a jump to the end and fails over to the next read.
  auto chain = std::make_unique<ReadChain>();
  const size_t n = code_.size();
  size_t i = 0;
  while (i < n) {
    const Instr& in = code_[i];
    ReadChain::Read read;
    if (in.op == Op::kTryLoad || in.op == Op::kTryAttrIndexConst) {
      const bool jumps_to_end =
          i + 1 < n && code_[i + 1].op == Op::kJump && static_cast<size_t>(code_[i + 1].a) == n;
      if (in.depth != 0 || !jumps_to_end || static_cast<size_t>(in.b) != i + 2) return;
      read.attribute = attributes_[in.a].id;
      read.type = attributes_[in.a].type;
      if (in.op == Op::kTryAttrIndexConst) {
        if (constants_[in.c].type != ValueType::kString) return;
        read.has_key = true;
        read.key = constants_[in.c].stringView();
      }
      chain->reads.push_back(read);
      i += 2;
      continue;
    }
    if (i + 1 != n) return;
    if (in.op == Op::kConst) {
      chain->has_fallback = true;
      chain->fallback = constants_[in.a];
    } else if (in.op == Op::kLoad || in.op == Op::kAttrIndexConst) {
      read.attribute = attributes_[in.a].id;
      read.type = attributes_[in.a].type;
      if (in.op == Op::kAttrIndexConst) {
        if (constants_[in.b].type != ValueType::kString) return;
        read.has_key = true;
        read.key = constants_[in.b].stringView();
      }
      chain->reads.push_back(read);
    } else {
      return;
    }
    ++i;
  }
  // A lone constant is isConstant(); a chain needs at least one read.
  if (!chain->reads.empty()) read_chain_ = std::move(chain);
}

}  // namespace expr
