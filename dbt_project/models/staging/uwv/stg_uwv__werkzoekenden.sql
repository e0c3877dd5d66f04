{{ stg_werkzoekenden('uwv') }}
