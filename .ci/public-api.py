#!/usr/bin/env python3
"""The public API of a crate, one item per line, from rustdoc's JSON.

Usage: public-api.py CRATE.json > CRATE.txt

Walks the crate from its root module through public items and re-exports, and prints each
reachable item with its path and signature: modules, structs with their public fields (and
`#[non_exhaustive]`), enums with their variants, traits with their items, functions and methods
with their parameters and return types, constants, statics, type aliases, macros, the traits a
public type implements (auto traits included, blanket impls left out: they follow from the
others). The lines are sorted, so that a diff of two snapshots shows exactly what changed.
"""

import json
import sys


def main():
    with open(sys.argv[1]) as source:
        crate = json.load(source)
    api = Api(crate)
    lines = sorted(set(api.walk()))
    sys.stdout.write("".join(line + "\n" for line in lines))


class Api:
    def __init__(self, crate):
        self.index = crate["index"]
        self.paths = crate["paths"]
        self.root = crate["root"]
        self.emitted_impls = set()
        self.crate_name = self.index[str(self.root)]["name"]

    def item(self, id_):
        return self.index.get(str(id_))

    def walk(self):
        # The first walk finds each item's public path (the shortest where it is reachable
        # twice), which the second uses to name the types in signatures: private module names
        # stay out of the snapshot, so moving code between files changes nothing.
        self.public_paths = {}
        self.emitted_impls = set()
        for _ in self.module(self.item(self.root), self.crate_name, set()):
            pass
        self.emitted_impls = set()
        yield from self.module(self.item(self.root), self.crate_name, set())

    def found(self, id_, path):
        known = self.public_paths.get(id_)
        if known is None or (len(path), path) < (len(known), known):
            self.public_paths[id_] = path

    def module(self, module, path, visited):
        if (module["id"], path) in visited:
            return
        visited.add((module["id"], path))
        yield f"pub mod {path}"
        for child_id in module["inner"]["module"]["items"]:
            child = self.item(child_id)
            if child is None or child["visibility"] != "public":
                continue
            yield from self.named(child, path, visited)

    def named(self, item, parent, visited):
        kind, inner = next(iter(item["inner"].items()))
        if kind == "use":
            target = self.item(inner["id"]) if inner["id"] is not None else None
            if inner["is_glob"]:
                if target is not None and "module" in target["inner"]:
                    for child_id in target["inner"]["module"]["items"]:
                        child = self.item(child_id)
                        if child is not None and child["visibility"] == "public":
                            yield from self.named(child, parent, visited)
                else:
                    yield f"pub use {parent}::{inner['source']}::*"
                return
            path = f"{parent}::{inner['name']}"
            if target is None:
                # An item of another crate, re-exported: its source path is its API here.
                yield f"pub use {path} = {inner['source']}"
                return
            renamed = dict(target, name=inner["name"])
            yield from self.named(renamed, parent, visited)
            return
        path = f"{parent}::{item['name']}"
        self.found(item["id"], path)
        if kind == "module":
            yield from self.module(item, path, visited)
        elif kind == "struct":
            yield from self.struct(item, inner, path)
        elif kind == "enum":
            yield from self.enum(item, inner, path)
        elif kind == "union":
            yield f"pub union {path}{self.generics(inner['generics'])}"
        elif kind == "trait":
            yield from self.trait(item, inner, path)
        elif kind == "function":
            yield f"pub {self.function(item['name'], inner, path_prefix=parent + '::')}"
        elif kind == "constant":
            yield f"pub const {path}: {self.ty(inner['type'])}"
        elif kind == "static":
            mutable = "mut " if inner.get("is_mutable") else ""
            yield f"pub static {mutable}{path}: {self.ty(inner['type'])}"
        elif kind == "type_alias":
            yield f"pub type {path}{self.generics(inner['generics'])} = {self.ty(inner['type'])}"
        elif kind == "macro":
            yield f"pub macro {path}!"
        elif kind == "proc_macro":
            yield f"pub {inner['kind']} macro {path}"
        else:
            yield f"pub {kind} {path}"

    def attributes(self, item):
        text = json.dumps(item.get("attrs", []))
        return "#[non_exhaustive] " if "non_exhaustive" in text else ""

    def struct(self, item, inner, path):
        generics = self.generics(inner["generics"])
        yield f"{self.attributes(item)}pub struct {path}{generics}{self.where(inner['generics'])}"
        kind = inner["kind"]
        fields = []
        if isinstance(kind, dict) and "plain" in kind:
            fields = kind["plain"]["fields"]
        elif isinstance(kind, dict) and "tuple" in kind:
            fields = [field for field in kind["tuple"] if field is not None]
        for field_id in fields:
            field = self.item(field_id)
            if field is not None and field["visibility"] == "public":
                yield f"pub {path}::{field['name']}: {self.ty(field['inner']['struct_field'])}"
        yield from self.impls(inner["impls"], path)

    def enum(self, item, inner, path):
        generics = self.generics(inner["generics"])
        yield f"{self.attributes(item)}pub enum {path}{generics}{self.where(inner['generics'])}"
        for variant_id in inner["variants"]:
            variant = self.item(variant_id)
            kind = variant["inner"]["variant"]["kind"]
            shape = ""
            if isinstance(kind, dict) and "tuple" in kind:
                types = [
                    self.ty(self.item(field)["inner"]["struct_field"])
                    for field in kind["tuple"]
                    if field is not None
                ]
                shape = "(" + ", ".join(types) + ")"
            elif isinstance(kind, dict) and "struct" in kind:
                names = [
                    f"{self.item(field)['name']}: {self.ty(self.item(field)['inner']['struct_field'])}"
                    for field in kind["struct"]["fields"]
                ]
                shape = " { " + ", ".join(names) + " }"
            yield f"{self.attributes(variant)}{path}::{variant['name']}{shape}"
        yield from self.impls(inner["impls"], path)

    def trait(self, item, inner, path):
        unsafe = "unsafe " if inner["is_unsafe"] else ""
        bounds = self.bounds(inner["bounds"])
        bounds = f": {bounds}" if bounds else ""
        generics = self.generics(inner["generics"])
        yield f"pub {unsafe}trait {path}{generics}{bounds}{self.where(inner['generics'])}"
        for member_id in inner["items"]:
            member = self.item(member_id)
            yield f"{path}::{self.member(member)}"

    def member(self, member):
        kind, inner = next(iter(member["inner"].items()))
        if kind == "function":
            return self.function(member["name"], inner)
        if kind == "assoc_const":
            return f"const {member['name']}: {self.ty(inner['type'])}"
        if kind == "assoc_type":
            bounds = self.bounds(inner["bounds"])
            return f"type {member['name']}" + (f": {bounds}" if bounds else "")
        return f"{kind} {member['name']}"

    def impls(self, impl_ids, path):
        for impl_id in impl_ids:
            impl = self.item(impl_id)
            if impl is None or impl_id in self.emitted_impls:
                continue
            self.emitted_impls.add(impl_id)
            inner = impl["inner"]["impl"]
            if inner["blanket_impl"] is not None:
                continue
            generics = self.generics(inner["generics"])
            target = self.ty(inner["for"])
            where = self.where(inner["generics"])
            if inner["trait"] is None:
                for member_id in inner["items"]:
                    member = self.item(member_id)
                    if member is not None and member["visibility"] == "public":
                        yield f"impl{generics} {target}{where} :: pub {self.member(member)}"
            else:
                negative = "!" if inner["is_negative"] else ""
                unsafe = "unsafe " if inner["is_unsafe"] else ""
                trait = self.path(inner["trait"])
                yield f"{unsafe}impl{generics} {negative}{trait} for {target}{where}"

    def function(self, name, inner, path_prefix=""):
        header = inner["header"]
        qualifiers = ""
        if header["is_const"]:
            qualifiers += "const "
        if header["is_async"]:
            qualifiers += "async "
        if header["is_unsafe"]:
            qualifiers += "unsafe "
        signature = inner["sig"]
        parameters = []
        for parameter, type_ in signature["inputs"]:
            if parameter == "self":
                parameters.append(self.receiver(type_))
            else:
                parameters.append(f"{parameter}: {self.ty(type_)}")
        output = signature["output"]
        returns = f" -> {self.ty(output)}" if output is not None else ""
        generics = self.generics(inner["generics"])
        where = self.where(inner["generics"])
        return f"{qualifiers}fn {path_prefix}{name}{generics}({', '.join(parameters)}){returns}{where}"

    def receiver(self, type_):
        if type_ == {"generic": "Self"}:
            return "self"
        if "borrowed_ref" in type_ and type_["borrowed_ref"]["type"] == {"generic": "Self"}:
            reference = type_["borrowed_ref"]
            lifetime = f"{reference['lifetime']} " if reference["lifetime"] else ""
            mutable = "mut " if reference["is_mutable"] else ""
            return f"&{lifetime}{mutable}self"
        return f"self: {self.ty(type_)}"

    def generics(self, generics):
        params = []
        for param in generics["params"]:
            kind = param["kind"]
            if "lifetime" in kind:
                outlives = kind["lifetime"]["outlives"]
                params.append(param["name"] + (": " + " + ".join(outlives) if outlives else ""))
            elif "type" in kind:
                if kind["type"].get("is_synthetic"):
                    continue
                bounds = self.bounds(kind["type"]["bounds"])
                default = kind["type"].get("default")
                text = param["name"] + (f": {bounds}" if bounds else "")
                if default is not None:
                    text += f" = {self.ty(default)}"
                params.append(text)
            elif "const" in kind:
                params.append(f"const {param['name']}: {self.ty(kind['const']['type'])}")
        return f"<{', '.join(params)}>" if params else ""

    def where(self, generics):
        predicates = []
        for predicate in generics["where_predicates"]:
            if "bound_predicate" in predicate:
                bound = predicate["bound_predicate"]
                predicates.append(f"{self.ty(bound['type'])}: {self.bounds(bound['bounds'])}")
            elif "lifetime_predicate" in predicate:
                bound = predicate["lifetime_predicate"]
                predicates.append(f"{bound['lifetime']}: {' + '.join(bound['outlives'])}")
            elif "eq_predicate" in predicate:
                bound = predicate["eq_predicate"]
                predicates.append(f"{self.ty(bound['lhs'])} = {self.term(bound['rhs'])}")
        return f" where {', '.join(predicates)}" if predicates else ""

    def bounds(self, bounds):
        texts = []
        for bound in bounds:
            if "trait_bound" in bound:
                trait_bound = bound["trait_bound"]
                modifier = {"none": "", "maybe": "?", "maybe_const": "~const "}.get(
                    trait_bound["modifier"], ""
                )
                texts.append(modifier + self.path(trait_bound["trait"]))
            elif "outlives" in bound:
                texts.append(bound["outlives"])
            elif "use" in bound:
                texts.append("use<" + ", ".join(map(self.precise, bound["use"])) + ">")
        return " + ".join(texts)

    def precise(self, capture):
        if isinstance(capture, dict):
            return next(iter(capture.values()))
        return str(capture)

    def term(self, term):
        if "type" in term:
            return self.ty(term["type"])
        return term["constant"]["expr"]

    def path(self, path):
        return self.name_of(path) + self.args(path.get("args"))

    def name_of(self, path):
        """An item's name as this crate's canonical path, or its last segment for other crates'
        items, whatever the source spelled: a snapshot changes only when the API does."""
        public = getattr(self, "public_paths", {}).get(path.get("id"))
        if public is not None:
            return public
        summary = self.paths.get(str(path.get("id")))
        if summary is not None and summary["crate_id"] == 0:
            return "::".join(summary["path"])
        if summary is not None:
            return summary["path"][-1]
        return path["path"].split("::")[-1]

    def args(self, args):
        if not args:
            return ""
        if "angle_bracketed" in args:
            angle = args["angle_bracketed"]
            texts = []
            for arg in angle["args"]:
                if "lifetime" in arg:
                    texts.append(arg["lifetime"])
                elif "type" in arg:
                    texts.append(self.ty(arg["type"]))
                elif "const" in arg:
                    texts.append(arg["const"]["expr"])
                else:
                    texts.append("_")
            for constraint in angle["constraints"]:
                binding = constraint["binding"]
                if "equality" in binding:
                    texts.append(f"{constraint['name']} = {self.term(binding['equality'])}")
                else:
                    texts.append(f"{constraint['name']}: {self.bounds(binding['constraint'])}")
            return f"<{', '.join(texts)}>" if texts else ""
        if "parenthesized" in args:
            parenthesized = args["parenthesized"]
            inputs = ", ".join(self.ty(type_) for type_ in parenthesized["inputs"])
            output = parenthesized["output"]
            return f"({inputs})" + (f" -> {self.ty(output)}" if output else "")
        return ""

    def ty(self, type_):
        if type_ is None:
            return "()"
        kind, inner = next(iter(type_.items()))
        if kind == "resolved_path":
            return self.path(inner)
        if kind == "generic" or kind == "primitive":
            return inner
        if kind == "borrowed_ref":
            lifetime = f"{inner['lifetime']} " if inner["lifetime"] else ""
            mutable = "mut " if inner["is_mutable"] else ""
            return f"&{lifetime}{mutable}{self.ty(inner['type'])}"
        if kind == "raw_pointer":
            return ("*mut " if inner["is_mutable"] else "*const ") + self.ty(inner["type"])
        if kind == "tuple":
            return "(" + ", ".join(self.ty(member) for member in inner) + ")"
        if kind == "slice":
            return f"[{self.ty(inner)}]"
        if kind == "array":
            return f"[{self.ty(inner['type'])}; {inner['len']}]"
        if kind == "impl_trait":
            return "impl " + self.bounds(inner)
        if kind == "dyn_trait":
            traits = [self.path(poly["trait"]) for poly in inner["traits"]]
            if inner.get("lifetime"):
                traits.append(inner["lifetime"])
            return "dyn " + " + ".join(traits)
        if kind == "qualified_path":
            trait = f" as {self.path(inner['trait'])}" if inner.get("trait") else ""
            return f"<{self.ty(inner['self_type'])}{trait}>::{inner['name']}"
        if kind == "function_pointer":
            signature = inner["sig"]
            inputs = ", ".join(self.ty(type_) for _, type_ in signature["inputs"])
            output = signature["output"]
            return f"fn({inputs})" + (f" -> {self.ty(output)}" if output else "")
        if kind == "infer":
            return "_"
        if kind == "pat":
            return self.ty(inner["type"])
        return json.dumps(type_, sort_keys=True)


if __name__ == "__main__":
    main()
