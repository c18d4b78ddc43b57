#include "expr/evaluator.h"

#include <cassert>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "expr/builtins.h"
#include "expr/format.h"
#include "expr/str_util.h"
#include "re2/re2.h"

namespace expr {

namespace {

Value missingAttribute(const ResolvedAttribute& attr, Dialect dialect, EvalContext& ctx) {
  if (dialect == Dialect::kCexl) {
    return makeErrorf(ctx, strCat("lookup failed: '", attr.name, "'"));
  }
  return makeErrorf(ctx, strCat("no such attribute: '", attr.name, "'"));
}

Value wrongType(const ResolvedAttribute& attr, const Value& v, EvalContext& ctx) {
  return makeErrorf(
      ctx, strCat("error converting value to ", asciiToLower(valueTypeName(attr.type)), ": '",
                  formatValue(v), "'"));
}

// Whether a bag value matches the declared type.
inline bool typeMatches(ValueType declared, ValueType actual) {
  return declared == actual || declared == ValueType::kDyn || declared == ValueType::kUnspecified;
}

Value noOverload(EvalContext& ctx, std::string_view op) {
  return makeErrorf(ctx, strCat("no matching overload for ", op));
}

Value appendToList(const Value& list, const Value& v, EvalContext& ctx) {
  size_t n = list.list->size;
  Value* elems = ctx.arena->allocateArray<Value>(n + 1);
  for (size_t i = 0; i < n; ++i) elems[i] = list.list->elements[i];
  elems[n] = v;
  ListValue* l = ctx.arena->allocateArray<ListValue>(1);
  l->elements = elems;
  l->size = n + 1;
  return Value::makeList(l);
}

// m[key] for a string map read from an attribute: the common case of index operations.
inline bool stringMapLookup(const Value& m, std::string_view key, ReferenceList& refs,
                            std::string_view* out) {
  bool found = m.string_map->find(key, out);
  if (m.origin != kNoAttribute) refs.pushKey(m.origin, found, key);
  return found;
}

// IP equality against a constant (16-byte form) without the generic dispatch.
inline bool ipEqualsConstant(std::string_view v, std::string_view c) {
  if (v.size() == c.size()) return std::memcmp(v.data(), c.data(), v.size()) == 0;
  if (v.size() == 4 && c.size() == 16) {
    return std::memcmp(c.data(), "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
           std::memcmp(c.data() + 12, v.data(), 4) == 0;
  }
  if (v.size() == 16 && c.size() == 4) return ipEqualsConstant(c, v);
  return false;
}

// Copies field by field: results are written by narrow stores, and one wide load across them
// would stall on store-to-load forwarding.
inline Value copyFieldwise(const Value& v) {
  Value result;
  result.type = v.type;
  result.origin = v.origin;
  result.str.data = v.str.data;
  result.str.size = v.str.size;
  return result;
}

// attribute ==/!= constant, the most common selector shape. Writes the result into *v (which
// also receives the attribute).
[[gnu::always_inline]] inline void attrCompare(const Instr& in, const ResolvedAttribute& at,
                                               const Value& c, const Activation& activation,
                                               EvalContext& ctx, Value* v) {
  const bool eq = in.op == Op::kEqAttrConst;
  bool found = activation.find(at.id, v);
  ctx.references->push(at.id, found);
  if (!found) {
    *v = missingAttribute(at, ctx.dialect, ctx);
  } else if (v->type == ValueType::kString && c.type == ValueType::kString) {
    v->setBool((v->stringView() == c.stringView()) == eq);
  } else if (v->type == ValueType::kInt64 && c.type == ValueType::kInt64) {
    v->setBool((v->int_value == c.int_value) == eq);
  } else if (v->type == ValueType::kIpAddress && c.type == ValueType::kIpAddress) {
    v->setBool(ipEqualsConstant(v->stringView(), c.stringView()) == eq);
  } else if (!typeMatches(at.type, v->type)) {
    *v = wrongType(at, *v, ctx);
  } else {
    if (v->type == ValueType::kStringMap) v->origin = at.id;
    *v = eq ? opEq(*v, c, ctx) : opNe(*v, c, ctx);
  }
}

// match(attribute, "glob") into *v.
[[gnu::always_inline]] inline void globAttr(const Instr& in, const ResolvedAttribute& at,
                                            const Value& pattern, const Activation& activation,
                                            EvalContext& ctx, Value* v) {
  bool found = activation.find(at.id, v);
  ctx.references->push(at.id, found);
  if (!found) {
    *v = missingAttribute(at, ctx.dialect, ctx);
  } else if (v->type != ValueType::kString) {
    *v = typeMatches(at.type, v->type) ? noOverload(ctx, "match") : wrongType(at, *v, ctx);
  } else {
    std::string_view str = v->stringView();
    std::string_view pat = pattern.stringView();
    v->setBool(in.n == 0 ? str == pat : in.n == 1 ? str.starts_with(pat) : str.ends_with(pat));
  }
}

// The fused CEXL `&&` (depth 1) / `||` (depth 2) after a superinstruction: a false (true) or an
// error decides the result and jumps to Instr::c; otherwise the value is popped.
[[gnu::always_inline]] inline void shortCircuit(const Instr& in, Value*& sp, size_t& pc) {
  const Value& t = sp[-1];
  if (t.isError() || t.bool_value == (in.depth == 2)) {
    pc = in.c;
  } else {
    --sp;
  }
}

}  // namespace

Value Program::evaluate(const Activation& activation, EvalState* state) const {
  state->references_.clear();
  state->arena_.reset();
  // Programs of one instruction skip the interpreter loop.
  if (code_.size() == 1) {
    const Instr& in = code_[0];
    if (in.op == Op::kConst) return constants_[in.a];
    if (in.op == Op::kEqAttrConst || in.op == Op::kNeAttrConst) {
      EvalContext ctx{&state->arena_, dialect_, &state->references_};
      Value v;
      attrCompare(in, attributes_[in.a], constants_[in.b], activation, ctx, &v);
      return copyFieldwise(v);
    }
    if (in.op == Op::kGlobAttr) {
      EvalContext ctx{&state->arena_, dialect_, &state->references_};
      Value v;
      globAttr(in, attributes_[in.b], constants_[in.a], activation, ctx, &v);
      return copyFieldwise(v);
    }
  }
  return Evaluator::run(*this, 0, code_.size(), activation, state);
}

Value Evaluator::run(const Program& program, size_t start, size_t end, const Activation& activation,
                     EvalState* state) {
  if (state->stack_.size() < static_cast<size_t>(program.max_stack_) + 1) {
    state->stack_.resize(program.max_stack_ + 1);
  }
  if (state->slots_.size() < static_cast<size_t>(program.slot_count_)) {
    state->slots_.resize(program.slot_count_);
    state->iter_index_.resize(program.slot_count_);
  }
  const Dialect dialect = program.dialect_;
  EvalContext ctx{&state->arena_, dialect, &state->references_};
  const Instr* code = program.code_.data();
  const Value* constants = program.constants_.data();
  const ResolvedAttribute* attrs = program.attributes_.data();
  Value* const base = state->stack_.data();
  Value* sp = base;  // next free slot
  Value* slots = state->slots_.data();
  ReferenceList& refs = state->references_;
  size_t pc = start;
  while (pc < end) {
    const Instr& in = code[pc++];
    switch (in.op) {
      case Op::kConst:
        *sp++ = constants[in.a];
        break;
      case Op::kLoad: {
        const ResolvedAttribute& at = attrs[in.a];
        // The activation writes straight into the stack slot.
        bool found = activation.find(at.id, sp);
        refs.push(at.id, found);
        if (!found) {
          *sp = missingAttribute(at, dialect, ctx);
        } else if (!typeMatches(at.type, sp->type)) {
          *sp = wrongType(at, *sp, ctx);
        } else if (sp->type == ValueType::kStringMap) {
          sp->origin = at.id;
        }
        ++sp;
        break;
      }
      case Op::kTryLoad: {
        const ResolvedAttribute& at = attrs[in.a];
        bool found = activation.find(at.id, sp);
        refs.push(at.id, found);
        if (!found) {
          sp = base + in.depth;
          pc = in.b;
          break;
        }
        if (!typeMatches(at.type, sp->type)) {
          *sp = wrongType(at, *sp, ctx);
        } else if (sp->type == ValueType::kStringMap) {
          sp->origin = at.id;
        }
        ++sp;
        break;
      }
      case Op::kLoadSlot:
        *sp++ = slots[in.a];
        break;
      case Op::kStoreSlot:
        slots[in.a] = *--sp;
        break;
      case Op::kJump:
        pc = in.a;
        break;
      case Op::kAndCexl: {
        const Value& t = sp[-1];
        if (t.isError() || !t.bool_value) {
          pc = in.a;
        } else {
          --sp;
        }
        break;
      }
      case Op::kOrCexl: {
        const Value& t = sp[-1];
        if (t.isError() || t.bool_value) {
          pc = in.a;
        } else {
          --sp;
        }
        break;
      }
      case Op::kAndCel:
      case Op::kOrCel: {
        Value& t = sp[-1];
        bool is_and = in.op == Op::kAndCel;
        if (t.type == ValueType::kBool) {
          if (t.bool_value != is_and) pc = in.a;
        } else if (!t.isError()) {
          t = noOverload(ctx, is_and ? "_&&_" : "_||_");
        }
        break;
      }
      case Op::kAndMerge:
      case Op::kOrMerge: {
        bool is_and = in.op == Op::kAndMerge;
        Value r = *--sp;
        Value& l = sp[-1];
        if (r.type == ValueType::kBool && r.bool_value != is_and) {
          l = r;  // false absorbs errors for &&, true for ||
        } else if (l.isError()) {
          // keep l
        } else if (r.isError()) {
          l = r;
        } else if (r.type != ValueType::kBool) {
          l = noOverload(ctx, is_and ? "_&&_" : "_||_");
        } else {
          l = r;
        }
        break;
      }
      case Op::kCondJump: {
        Value c = *--sp;
        if (c.type == ValueType::kBool) {
          if (!c.bool_value) pc = in.a;
        } else {
          *sp++ = c.isError() ? c : noOverload(ctx, "_?_:_");
          pc = in.b;
        }
        break;
      }
      case Op::kNot:
        sp[-1] = opNot(sp[-1], ctx);
        break;
      case Op::kNeg:
        sp[-1] = opNeg(sp[-1], ctx);
        break;
      case Op::kEq: {
        --sp;
        const Value& a = sp[-1];
        const Value& b = sp[0];
        if (a.type == ValueType::kString && b.type == ValueType::kString) {
          sp[-1].setBool(a.stringView() == b.stringView());
        } else if (a.type == ValueType::kInt64 && b.type == ValueType::kInt64) {
          sp[-1].setBool(a.int_value == b.int_value);
        } else {
          sp[-1] = opEq(a, b, ctx);
        }
        break;
      }
      case Op::kNe:
        --sp;
        sp[-1] = opNe(sp[-1], sp[0], ctx);
        break;
      case Op::kLt:
        --sp;
        sp[-1] = opCompare(0, sp[-1], sp[0], ctx);
        break;
      case Op::kLe:
        --sp;
        sp[-1] = opCompare(1, sp[-1], sp[0], ctx);
        break;
      case Op::kGt:
        --sp;
        sp[-1] = opCompare(2, sp[-1], sp[0], ctx);
        break;
      case Op::kGe:
        --sp;
        sp[-1] = opCompare(3, sp[-1], sp[0], ctx);
        break;
      case Op::kAdd:
        --sp;
        sp[-1] = opAdd(sp[-1], sp[0], ctx);
        break;
      case Op::kSub:
        --sp;
        sp[-1] = opSub(sp[-1], sp[0], ctx);
        break;
      case Op::kMul:
        --sp;
        sp[-1] = opMul(sp[-1], sp[0], ctx);
        break;
      case Op::kDiv:
        --sp;
        sp[-1] = opDiv(sp[-1], sp[0], ctx);
        break;
      case Op::kMod:
        --sp;
        sp[-1] = opMod(sp[-1], sp[0], ctx);
        break;
      case Op::kIndex: {
        --sp;
        bool found;
        sp[-1] = opIndex(sp[-1], sp[0], ctx, &found);
        break;
      }
      case Op::kTryIndex: {
        --sp;
        const Value& m = sp[-1];
        const Value& k = sp[0];
        if (m.isError() || k.isError()) {
          if (!m.isError()) sp[-1] = k;
          break;
        }
        bool found;
        Value v = opIndex(m, k, ctx, &found);
        if (!found && !v.isError()) {
          sp = base + in.depth;
          pc = in.b;
          break;
        }
        sp[-1] = v;
        break;
      }
      case Op::kSelect: {
        Value& m = sp[-1];
        if (m.type == ValueType::kMap || m.type == ValueType::kStringMap) {
          bool found;
          m = opIndex(m, constants[in.a], ctx, &found);
        } else if (!m.isError()) {
          m = makeErrorf(ctx, strCat("no such field '", constants[in.a].stringView(), "' on ",
                                     valueTypeName(m.type)));
        }
        break;
      }
      case Op::kHas:
        sp[-1] = opHas(sp[-1], constants[in.a].stringView(), ctx);
        break;
      case Op::kIn:
        --sp;
        sp[-1] = opIn(sp[-1], sp[0], ctx);
        break;
      case Op::kMakeList: {
        size_t n = in.a;
        sp -= n;
        Value err;
        Value* elems = ctx.arena->allocateArray<Value>(n);
        for (size_t i = 0; i < n; ++i) {
          if (sp[i].isError() && !err.isError()) err = sp[i];
          elems[i] = sp[i];
        }
        if (err.isError()) {
          *sp++ = err;
          break;
        }
        ListValue* l = ctx.arena->allocateArray<ListValue>(1);
        l->elements = elems;
        l->size = n;
        *sp++ = Value::makeList(l);
        break;
      }
      case Op::kMakeMap: {
        size_t n = in.a;
        sp -= 2 * n;
        Value err;
        Value* keys = ctx.arena->allocateArray<Value>(n);
        Value* vals = ctx.arena->allocateArray<Value>(n);
        for (size_t i = 0; i < n && !err.isError(); ++i) {
          const Value& k = sp[2 * i];
          const Value& v = sp[2 * i + 1];
          if (k.isError()) {
            err = k;
          } else if (v.isError()) {
            err = v;
          } else if (k.type != ValueType::kString && k.type != ValueType::kInt64 &&
                     k.type != ValueType::kUint64 && k.type != ValueType::kBool) {
            err = makeErrorf(ctx, strCat("unsupported map key type: ", valueTypeName(k.type)));
          } else {
            for (size_t j = 0; j < i; ++j) {
              if (valuesEqual(keys[j], k, Dialect::kCel) &&
                  (keys[j].type == k.type ||
                   (k.type != ValueType::kString && keys[j].type != ValueType::kString &&
                    k.type != ValueType::kBool && keys[j].type != ValueType::kBool))) {
                err = makeErrorf(ctx, strCat("Failed with repeated key: ", formatValue(k)));
              }
            }
          }
          keys[i] = k;
          vals[i] = v;
        }
        if (err.isError()) {
          *sp++ = err;
          break;
        }
        MapValue* m = ctx.arena->allocateArray<MapValue>(1);
        m->keys = keys;
        m->values = vals;
        m->size = n;
        *sp++ = Value::makeMap(m);
        break;
      }
      case Op::kCall: {
        const Builtin& b = builtinAt(in.a);
        sp -= in.n;
        Value err;
        for (int i = 0; i < in.n; ++i) {
          if (sp[i].isError()) {
            err = sp[i];
            break;
          }
        }
        *sp = err.isError() ? err : b.fn(sp, in.n, ctx);
        ++sp;
        break;
      }
      case Op::kMatchRegex: {
        Value& s = sp[-1];
        if (s.isError()) break;
        if (s.type != ValueType::kString) {
          s = noOverload(ctx, "matches");
          break;
        }
        s.setBool(
            RE2::PartialMatch(re2::StringPiece(s.str.data, s.str.size), *program.regexes_[in.a]));
        break;
      }
      case Op::kIterInit: {
        Value range = *--sp;
        if (range.isError() || containerSize(range) < 0) {
          slots[in.a + 1] =
              range.isError()
                  ? range
                  : makeErrorf(ctx, strCat("cannot iterate over ", valueTypeName(range.type)));
          pc = in.b;
          break;
        }
        slots[in.a + 2] = range;
        state->iter_index_[in.a] = 0;
        break;
      }
      case Op::kIterNext: {
        const Value& range = slots[in.a + 2];
        size_t& idx = state->iter_index_[in.a];
        if (static_cast<int64_t>(idx) >= containerSize(range)) {
          pc = in.b;
          break;
        }
        slots[in.a] = containerElement(range, idx);
        ++idx;
        break;
      }
      case Op::kAccumulate: {
        Value v = *--sp;
        Value& acc = slots[in.a + 1];
        switch (in.n) {
          case 0:    // all
          case 1: {  // exists
            bool stop_on = in.n == 1;
            if (v.type == ValueType::kBool) {
              if (v.bool_value == stop_on) {
                acc = v;
                pc = in.b;
              }
            } else if (!acc.isError()) {
              acc = v.isError() ? v : noOverload(ctx, stop_on ? "exists" : "all");
            }
            break;
          }
          case 2:  // exists_one
            if (v.type != ValueType::kBool) {
              acc = v.isError() ? v : noOverload(ctx, "exists_one");
              pc = in.b;
            } else if (v.bool_value) {
              acc.int_value++;
            }
            break;
          case 3:  // map
            if (v.isError()) {
              acc = v;
              pc = in.b;
            } else {
              acc = appendToList(acc, v, ctx);
            }
            break;
          case 4:  // filter
            if (v.type != ValueType::kBool) {
              acc = v.isError() ? v : noOverload(ctx, "filter");
              pc = in.b;
            } else if (v.bool_value) {
              acc = appendToList(acc, slots[in.a], ctx);
            }
            break;
        }
        break;
      }
      case Op::kExistsOneEnd: {
        Value& t = sp[-1];
        if (!t.isError()) t = Value::makeBool(t.int_value == 1);
        break;
      }
      case Op::kEqAttrConst:
      case Op::kNeAttrConst:
        // The attribute is read into the slot the result goes to.
        attrCompare(in, attrs[in.a], constants[in.b], activation, ctx, sp++);
        if (in.depth != 0) shortCircuit(in, sp, pc);
        break;
      case Op::kIndexConst: {
        Value& m = sp[-1];
        const Value& key = constants[in.b];
        std::string_view found_value;
        if (m.type == ValueType::kStringMap && key.type == ValueType::kString) {
          if (stringMapLookup(m, key.stringView(), refs, &found_value)) {
            m = Value::makeString(found_value);
          } else if (dialect == Dialect::kCexl) {
            m = Value::makeString("");
          } else {
            m = makeErrorf(ctx, strCat("no such key: ", key.stringView()));
          }
          break;
        }
        bool found;
        m = opIndex(m, key, ctx, &found);
        break;
      }
      case Op::kTryIndexConst: {
        Value& m = sp[-1];
        if (m.isError()) break;
        if (m.type == ValueType::kStringMap && constants[in.a].type == ValueType::kString) {
          std::string_view found_value;
          if (stringMapLookup(m, constants[in.a].stringView(), refs, &found_value)) {
            m = Value::makeString(found_value);
          } else {
            sp = base + in.depth;
            pc = in.b;
          }
          break;
        }
        bool found;
        Value v = opIndex(m, constants[in.a], ctx, &found);
        if (!found && !v.isError()) {
          sp = base + in.depth;
          pc = in.b;
          break;
        }
        sp[-1] = v;
        break;
      }
      case Op::kAttrIndexConst: {
        const ResolvedAttribute& at = attrs[in.a];
        const Value& key = constants[in.b];
        Value* m = sp++;
        bool found = activation.find(at.id, m);
        refs.push(at.id, found);
        if (!found) {
          *m = missingAttribute(at, dialect, ctx);
        } else if (!typeMatches(at.type, m->type)) {
          *m = wrongType(at, *m, ctx);
        } else if (m->type == ValueType::kStringMap && key.type == ValueType::kString) {
          m->origin = at.id;
          std::string_view found_value;
          if (stringMapLookup(*m, key.stringView(), refs, &found_value)) {
            *m = Value::makeString(found_value);
          } else if (dialect == Dialect::kCexl) {
            *m = Value::makeString("");
          } else {
            *m = makeErrorf(ctx, strCat("no such key: ", key.stringView()));
          }
        } else {
          bool index_found;
          *m = opIndex(*m, key, ctx, &index_found);
        }
        break;
      }
      case Op::kTryAttrIndexConst: {
        const ResolvedAttribute& at = attrs[in.a];
        Value* m = sp;
        bool found = activation.find(at.id, m);
        refs.push(at.id, found);
        if (!found) {
          sp = base + in.depth;
          pc = in.b;
          break;
        }
        if (m->type != ValueType::kStringMap) {
          // Present with the wrong type: an error value, which counts as a value.
          *m = wrongType(at, *m, ctx);
          ++sp;
          break;
        }
        m->origin = at.id;
        std::string_view found_value;
        if (stringMapLookup(*m, constants[in.c].stringView(), refs, &found_value)) {
          *m = Value::makeString(found_value);
          ++sp;
        } else {
          sp = base + in.depth;
          pc = in.b;
        }
        break;
      }
      case Op::kEqConst:
      case Op::kNeConst: {
        Value& a = sp[-1];
        const Value& b = constants[in.b];
        const bool eq = in.op == Op::kEqConst;
        if (a.type == ValueType::kString && b.type == ValueType::kString) {
          a.setBool((a.stringView() == b.stringView()) == eq);
        } else if (a.type == ValueType::kInt64 && b.type == ValueType::kInt64) {
          a.setBool((a.int_value == b.int_value) == eq);
        } else {
          a = eq ? opEq(a, b, ctx) : opNe(a, b, ctx);
        }
        break;
      }
      case Op::kGlobAttr:
        globAttr(in, attrs[in.b], constants[in.a], activation, ctx, sp++);
        if (in.depth != 0) shortCircuit(in, sp, pc);
        break;
      case Op::kGlob: {
        Value& s = sp[-1];
        if (s.isError()) break;
        if (s.type != ValueType::kString) {
          s = noOverload(ctx, "match");
          break;
        }
        std::string_view str = s.stringView();
        std::string_view pat = constants[in.a].stringView();
        s.setBool(in.n == 0 ? str == pat : in.n == 1 ? str.starts_with(pat) : str.ends_with(pat));
        break;
      }
    }
  }
  // Every program leaves exactly its result on the stack (checked in debug builds: an imbalance
  // means a compiler bug that a later operator would expose).
  assert(sp == base + 1);
  if (sp == base) return Value::makeError("empty program");
  // Field-wise copy: the slot was written by narrow stores, and one wide load across them would
  // stall on store forwarding.
  return copyFieldwise(sp[-1]);
}

}  // namespace expr
