// Small helpers around absl::Status: propagation macros (Abseil 20220623 ships none)
// and constructors that keep error messages uniform.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define STOLON_CONCAT_INNER_(a, b) a##b
#define STOLON_CONCAT_(a, b) STOLON_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` from the current function when it is not OK.
#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    ::absl::Status stolon_status_ = ::stolon::ToStatus(expr); \
    if (!stolon_status_.ok()) return stolon_status_;          \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates the StatusOr `expr`; on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  STOLON_ASSIGN_OR_RETURN_IMPL_(STOLON_CONCAT_(stolon_statusor_, __LINE__), lhs, expr, return )

// Coroutine variants: CO_RETURN_IF_ERROR / CO_ASSIGN_OR_RETURN use co_return.
#define CO_RETURN_IF_ERROR(expr)                              \
  do {                                                        \
    ::absl::Status stolon_status_ = ::stolon::ToStatus(expr); \
    if (!stolon_status_.ok()) co_return stolon_status_;       \
  } while (0)
#define CO_ASSIGN_OR_RETURN(lhs, expr) \
  STOLON_ASSIGN_OR_RETURN_IMPL_(STOLON_CONCAT_(stolon_statusor_, __LINE__), lhs, expr, co_return )

// `tmp` is a fresh name, `lhs` may be a declaration and `ret` is a keyword: none can be
// parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define STOLON_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, ret) \
  auto tmp = (expr);                                       \
  if (!tmp.ok()) ret std::move(tmp).status();              \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

namespace stolon {

inline absl::Status ToStatus(absl::Status s) { return s; }
template <typename T>
absl::Status ToStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// Prefixes the message of a non-OK status with `context: `, keeping its code.
inline absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  return absl::Status(s.code(), std::string(context) + ": " + std::string(s.message()));
}

}  // namespace stolon
