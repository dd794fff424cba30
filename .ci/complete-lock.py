#!/usr/bin/env python3
# Adds lock entries for other platforms' optional binaries (os/cpu/libc inferred from the package name) that
# npm on these machines leaves out of package-lock.json (npm/cli#8320), so that `npm ci` accepts the lock.
# Run after every `npm install`: python3 .ci/complete-lock.py
import json,re,sys
lock=json.load(open('package-lock.json'))
pk=lock['packages']
added=0
for path,meta in list(pk.items()):
    for dep,ver in (meta.get('optionalDependencies') or {}).items():
        key='node_modules/'+dep
        if key in pk: continue
        name=dep.split('/')[-1]
        parts=name.split('-')
        osn=None;cpu=None;libc=None
        for o in ['darwin','win32','linux','android','freebsd','openbsd','openharmony','netbsd','sunos','aix']:
            if o in parts: osn=o
        for c in ['arm64','x64','ia32','arm','loong64','ppc64','riscv64','s390x']:
            if c in parts: cpu=c; break
        if 'musl' in parts or 'musleabihf' in parts: libc='musl'
        elif osn=='linux' and ('gnu' in parts or 'gnueabihf' in parts): libc='glibc'
        if not osn or not cpu:
            print('cannot infer', dep); sys.exit(1)
        e={'version':ver,'cpu':[cpu],'optional':True,'os':[osn]}
        if meta.get('dev'): e['dev']=True
        if libc: e['libc']=[libc]
        pk[key]=e; added+=1
lock['packages']=dict(sorted(pk.items(), key=lambda kv: (kv[0]!='', kv[0])))
json.dump(lock,open('package-lock.json','w'),indent=2); open('package-lock.json','a').write('\n')
print('added',added)
